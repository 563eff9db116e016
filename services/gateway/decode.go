package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxBody is the largest request body the API reads; the batch endpoint
// raises it.
const maxBody = 64 << 10

// decodeJSON reads a JSON body strictly: the right content type, one value,
// no unknown fields, no more than limit bytes. On failure it has already
// answered with a problem and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"send the body as application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON value")
			if errors.As(extra, new(*http.MaxBytesError)) {
				err = extra // a valid value padded past the limit is too large, not malformed
			}
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "too-large",
			fmt.Sprintf("the body must be at most %d bytes", tooBig.Limit))
		return false
	}
	writeProblem(w, r, http.StatusBadRequest, "malformed", "malformed JSON body: "+err.Error())
	return false
}
