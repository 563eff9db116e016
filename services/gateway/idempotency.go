package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/auctionflow/auction/internal/idempotency"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// once serves a write at most once per (caller, Idempotency-Key), as the
// IETF Idempotency-Key draft describes: the key is bound to a fingerprint of
// the method, the path and request (the decoded body and the caller, which
// serve acts on), and the answer is kept in the shared store
// (Deps.Idempotency), so every replica and a restarted gateway give a retry
// the first answer back without running it again:
//
//   - same key, same request, answered: the answer again, marked
//     Idempotent-Replayed (a 5xx is never kept, so its retry runs);
//   - same key, same request, still running: 409, retry after a second;
//   - same key, another request: 422, nothing done.
//
// Without the header serve just runs, with key "". serve gets the key to
// name the events it writes after it (placebid.IdempotentID), so a rerun
// after a gateway died mid-request writes the same ids again, which the
// processor decides once.
func (g *Gateway) once(w http.ResponseWriter, r *http.Request, caller string, request any, serve func(w http.ResponseWriter, key string)) {
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	if key == "" {
		serve(w, "")
		return
	}
	fp := g.fingerprint(r, request)
	scoped := scopedKey(caller, key)
	prior, claimed, err := g.idem.Claim(r.Context(), scoped, fp)
	switch {
	case err != nil:
		g.Log.Warn("idempotency store unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, "unavailable",
			"the Idempotency-Key cannot be checked right now; nothing was recorded, retry later")
		return
	case !claimed && !hmac.Equal(prior.Fingerprint, fp):
		writeProblem(w, r, http.StatusUnprocessableEntity, "idempotency-key-reused",
			"this Idempotency-Key was used for a different request")
		return
	case !claimed && prior.Answer == nil:
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusConflict, "idempotency-key-in-flight",
			"a request with this Idempotency-Key is still being served; retry to get its answer")
		return
	case !claimed:
		w.Header().Set("Idempotent-Replayed", "true")
		writeAnswer(w, *prior.Answer)
		return
	}

	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	serve(rec, key)
	// Keep or forget the claim even if the client has gone: the work is done.
	ctx := context.WithoutCancel(r.Context())
	if rec.status >= 500 {
		err = g.idem.Release(ctx, scoped, fp)
	} else {
		err = g.idem.Complete(ctx, scoped, fp, rec.answer())
	}
	if err != nil {
		// The answer stands; the claim lapses after its lease, and a retry
		// then runs again under the same event ids.
		g.Log.Warn("idempotency store: answer not recorded", "path", r.URL.Path, "status", rec.status, "err", err)
	}
	writeAnswer(w, rec.answer())
}

// idempotencyKey reads the Idempotency-Key header: a token, or an RFC 8941
// string (the draft's form, "…"); "" if there is none or it is empty. One
// too long or sent twice is answered 400 and ok is false.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (key string, ok bool) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) > 1 {
		writeProblem(w, r, http.StatusBadRequest, "bad-idempotency-key", "send one Idempotency-Key")
		return "", false
	}
	if len(values) == 0 {
		return "", true
	}
	key = strings.TrimSpace(values[0])
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	if len(key) > maxIdempotencyKey {
		writeProblem(w, r, http.StatusBadRequest, "bad-idempotency-key",
			"Idempotency-Key must be at most 255 characters")
		return "", false
	}
	return key, true
}

// fingerprint names a request: its method, its path and what it asks for.
// It is keyed (an HMAC under a key derived from the token signing key,
// which every replica shares) because a request can hold a password, and
// the store must not keep anything that guessing could reverse.
func (g *Gateway) fingerprint(r *http.Request, request any) []byte {
	body, err := json.Marshal(request)
	if err != nil {
		panic("gateway: fingerprint of an unencodable request: " + err.Error())
	}
	mac := hmac.New(sha256.New, g.fpKey)
	for _, part := range [][]byte{[]byte(r.Method), []byte(r.URL.Path), body} {
		mac.Write(part)
		mac.Write([]byte{0})
	}
	return mac.Sum(nil)
}

// scopedKey is the store's key for caller's key: a digest, so any bytes a
// client sends make a valid key of fixed length.
func scopedKey(caller, key string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func writeAnswer(w http.ResponseWriter, a idempotency.Answer) {
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// recorder captures a response so it can be remembered and replayed.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func (r *recorder) answer() idempotency.Answer {
	return idempotency.Answer{Status: r.status, Header: r.header, Body: r.body.Bytes()}
}
