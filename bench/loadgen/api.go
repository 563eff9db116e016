package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Client speaks the platform's HTTP API, as much of it as the scenarios use.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient returns a client of base (http://host:port) that keeps up to
// conns connections open, so an open-loop run does not pay a TCP handshake
// per request.
func NewClient(base string, conns int) *Client {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Transport: t}}
}

// Close drops idle connections.
func (c *Client) Close() { c.HTTP.CloseIdleConnections() }

// do sends a JSON request and decodes a 2xx JSON answer into out (if not
// nil). It returns the status; a non-2xx answer is not an error here.
func (c *Client) do(ctx context.Context, method, path, token string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	// Read to the end so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// call is do for setup steps, where anything but want is an error.
func (c *Client) call(ctx context.Context, method, path, token string, in, out any, want int) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if in == nil {
		body = nil
	}
	status, err := c.do(ctx, method, path, token, body, out)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: got %w, want %d", method, path, statusError(status), want)
	}
	return nil
}

// Setup is what a scenario needs in place before the load starts.
type Setup struct {
	// RunID makes this run's users unique (their emails carry it).
	RunID string
	// Bidders is how many bidders to register (tokens are used round
	// robin, which spreads per-user rate limits).
	Bidders int
	// Items is how many items the bids go to (none for the auction
	// scenario, which places its own).
	Items int
	// ItemDuration is how long each item stays open (at least 10 s).
	ItemDuration  time.Duration
	StartingPrice int64
	Currency      string
}

func (s *Setup) defaults() {
	if s.RunID == "" {
		s.RunID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if s.Bidders <= 0 {
		s.Bidders = 8
	}
	if s.ItemDuration < 10*time.Second {
		s.ItemDuration = time.Hour
	}
	if s.StartingPrice <= 0 {
		s.StartingPrice = 1000
	}
	if s.Currency == "" {
		s.Currency = "EUR"
	}
}

// Fixture is a prepared scenario: a seller, bidders, open items.
type Fixture struct {
	Setup
	Seller  string   // the seller's token
	Bidders []string // bidder tokens
	Items   []Item
	seq     atomic.Int64
}

// Item is an item placed for the load.
type Item struct {
	ID     string
	EndsAt time.Time
}

// Prepare registers a seller and the bidders, signs them in, places the
// items and waits until the processor has seen every one (a bid on an item
// the processor has not stored yet is refused at the edge).
func (c *Client) Prepare(ctx context.Context, s Setup) (*Fixture, error) {
	s.defaults()
	f := &Fixture{Setup: s, Bidders: make([]string, s.Bidders)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4) // registration and sign-in hash passwords: keep the server's CPUs for the load
	g.Go(func() (err error) {
		f.Seller, err = c.User(gctx, s.RunID, "seller")
		return err
	})
	for i := range f.Bidders {
		g.Go(func() (err error) {
			f.Bidders[i], err = c.User(gctx, s.RunID, fmt.Sprintf("bidder%d", i))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("prepare users: %w", err)
	}
	f.Items = make([]Item, s.Items)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range f.Items {
		g.Go(func() error {
			it, err := c.PlaceItem(gctx, f.Seller, fmt.Sprintf("Load lot %d", i), s.Currency, s.StartingPrice, s.ItemDuration)
			if err != nil {
				return err
			}
			f.Items[i] = it
			return c.AwaitItem(gctx, it.ID, 30*time.Second)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("prepare items: %w", err)
	}
	return f, nil
}

// loadPassword is every load user's password.
const loadPassword = "loadgen-password"

// User registers a user named for run and role and returns a bearer token.
func (c *Client) User(ctx context.Context, run, role string) (string, error) {
	email := fmt.Sprintf("loadgen-%s-%s@example.com", run, role)
	reg := map[string]any{
		"name": "Load " + role, "email": email, "password": loadPassword,
		"address": map[string]string{"line1": "1 Test St", "city": "London", "postcode": "EC1A 1AA", "country": "GB"},
	}
	if err := c.call(ctx, http.MethodPost, "/v1/users", "", reg, nil, http.StatusCreated); err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/auth/token", "", map[string]string{"email": email, "password": loadPassword}, &tok, http.StatusOK); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// PlaceItem puts an item up for d (whole seconds, at least 10).
func (c *Client) PlaceItem(ctx context.Context, token, title, currency string, price int64, d time.Duration) (Item, error) {
	req := map[string]any{"title": title, "category": "loadgen", "currency": currency,
		"startingPrice": price, "durationSeconds": int64(d / time.Second)}
	var res struct {
		ItemID string    `json:"itemId"`
		EndsAt time.Time `json:"endsAt"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/items", token, req, &res, http.StatusAccepted); err != nil {
		return Item{}, err
	}
	return Item{ID: res.ItemID, EndsAt: res.EndsAt}, nil
}

// ItemState is the part of GET /v1/items/{id} the scenarios read.
type ItemState struct {
	Status   string `json:"status"`
	BidCount int    `json:"bidCount"`
}

// GetItem reads an item; ok is false while the processor has not stored it.
func (c *Client) GetItem(ctx context.Context, id string) (st ItemState, ok bool, err error) {
	status, err := c.do(ctx, http.MethodGet, "/v1/items/"+id, "", nil, &st)
	if err != nil {
		return st, false, err
	}
	switch status {
	case http.StatusOK:
		return st, true, nil
	case http.StatusNotFound:
		return st, false, nil
	}
	return st, false, fmt.Errorf("GET /v1/items/%s: %w", id, statusError(status))
}

// AwaitItem polls until the processor has stored the item.
func (c *Client) AwaitItem(ctx context.Context, id string, timeout time.Duration) error {
	return poll(ctx, timeout, 20*time.Millisecond, func() (bool, error) {
		_, ok, err := c.GetItem(ctx, id)
		return ok, err
	})
}

// poll calls check every interval until it reports done, fails, or timeout
// passes.
func poll(ctx context.Context, timeout, interval time.Duration, check func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil && ctx.Err() == nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s: %w", timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// amount is the amount of the fixture's nth bid: rising, and by enough that
// most bids beat the one before on their item.
func (f *Fixture) amount(n int64) int64 {
	inc := max(1, f.StartingPrice/100) // the platform's minimum increment
	return f.StartingPrice + n*inc*int64(len(f.Items)+1)
}

// BidOp places one bid per call (POST /v1/items/{id}/bids), going round
// robin over the items and the bidders.
func (f *Fixture) BidOp(c *Client) Op {
	return func(ctx context.Context) Outcome {
		n := f.seq.Add(1)
		item := f.Items[int(n%int64(len(f.Items)))]
		token := f.Bidders[int(n%int64(len(f.Bidders)))]
		body := strconv.AppendInt([]byte(`{"amount":`), f.amount(n), 10)
		body = append(body, '}')
		status, err := c.do(ctx, http.MethodPost, "/v1/items/"+item.ID+"/bids", token, body, nil)
		return Outcome{Status: status, Err: err, Units: 1}
	}
}

// BatchOp places n bids per call (POST /v1/bids) spread over the items; an
// outcome's units are the bids the answer says are in the log ("pending").
func (f *Fixture) BatchOp(c *Client, n int) Op {
	return func(ctx context.Context) Outcome {
		first := f.seq.Add(int64(n)) - int64(n)
		var b bytes.Buffer
		b.Grow(n * 72)
		b.WriteString(`{"bids":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			it := f.Items[i%len(f.Items)]
			fmt.Fprintf(&b, `{"itemId":%q,"amount":%d}`, it.ID, f.amount(first+int64(i)))
		}
		b.WriteString(`]}`)
		token := f.Bidders[int(first/int64(n))%len(f.Bidders)]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/v1/bids", &b)
		if err != nil {
			return Outcome{Err: err}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return Outcome{Err: err}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return Outcome{Status: resp.StatusCode, Err: err}
		}
		return Outcome{Status: resp.StatusCode, Units: bytes.Count(body, []byte(`"status":"pending"`))}
	}
}

// Auctions runs whole auctions: each operation places an item that ends
// after Duration, waits for the processor to store it, places Bids bids on
// it from alternating bidders, and waits until it is closed.
type Auctions struct {
	Fixture  *Fixture
	Client   *Client
	Duration time.Duration // at least 10 s
	Bids     int
	// Grace is the platform's close grace (AUCTION_CLOSE_GRACE). When set,
	// Closes records how long after endsAt+grace each auction was seen
	// closed over HTTP (polled every PollEvery, so only as exact as that).
	Grace     time.Duration
	Closes    *Recorder
	PollEvery time.Duration
	// OnItem, if set, hears each item id before any bid is placed on it
	// (to have end-to-end measurements track it).
	OnItem func(id string)

	n atomic.Int64
}

// Op is one whole auction.
func (a *Auctions) Op() Op {
	return func(ctx context.Context) Outcome {
		f, c := a.Fixture, a.Client
		n := a.n.Add(1)
		it, err := c.PlaceItem(ctx, f.Seller, fmt.Sprintf("Auction %d", n), f.Currency, f.StartingPrice, a.Duration)
		if err != nil {
			return failed(err)
		}
		if a.OnItem != nil {
			a.OnItem(it.ID)
		}
		if err := c.AwaitItem(ctx, it.ID, 30*time.Second); err != nil {
			return failed(err)
		}
		inc := max(1, f.StartingPrice/100)
		for i := range a.Bids {
			body := fmt.Appendf(nil, `{"amount":%d}`, f.StartingPrice+int64(i)*inc*2)
			token := f.Bidders[(int(n)+i)%len(f.Bidders)]
			status, err := c.do(ctx, http.MethodPost, "/v1/items/"+it.ID+"/bids", token, body, nil)
			if err != nil || status != http.StatusAccepted {
				return Outcome{Status: status, Err: err}
			}
		}
		closeAt := it.EndsAt.Add(a.Grace)
		if err := sleepUntil(ctx, closeAt); err != nil {
			return failed(err)
		}
		every := a.PollEvery
		if every <= 0 {
			every = 10 * time.Millisecond
		}
		err = poll(ctx, time.Until(closeAt)+time.Minute, every, func() (bool, error) {
			st, _, err := c.GetItem(ctx, it.ID)
			return st.Status == "closed", err
		})
		if err != nil {
			return failed(err)
		}
		if a.Closes != nil && a.Grace > 0 {
			a.Closes.Record(time.Since(closeAt))
		}
		return Outcome{Status: http.StatusOK, Units: 1}
	}
}

func failed(err error) Outcome {
	var status statusError
	if errors.As(err, &status) {
		return Outcome{Status: int(status)}
	}
	return Outcome{Err: err}
}

type statusError int

func (s statusError) Error() string { return "status " + strconv.Itoa(int(s)) }

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Reference is the minimal handler the gateway is measured against: plain
// net/http that decodes the same JSON bodies as the bid routes and answers
// 202, with nothing behind it (no auth, no validation, no Kafka). It also
// answers the setup calls (users, tokens, items) with stand-ins, so the bid
// and batch scenarios run against it unchanged.
func Reference() http.Handler {
	var (
		mux   = http.NewServeMux()
		items atomic.Int64
		bids  atomic.Int64
	)
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /v1/items/{itemId}/bids", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Amount int64 `json:"amount"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{
			"bidId": "ref-" + strconv.FormatInt(bids.Add(1), 10), "itemId": r.PathValue("itemId"), "status": "pending"})
	})
	mux.HandleFunc("POST /v1/bids", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Bids []struct {
				ItemID string `json:"itemId"`
				Amount int64  `json:"amount"`
			} `json:"bids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type result struct {
			ItemID string `json:"itemId"`
			BidID  string `json:"bidId"`
			Status string `json:"status"`
		}
		out := make([]result, len(body.Bids))
		for i, b := range body.Bids {
			out[i] = result{ItemID: b.ItemID, BidID: "ref-" + strconv.FormatInt(bids.Add(1), 10), Status: "pending"}
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"results": out})
	})
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusCreated, map[string]string{"id": "u-ref"})
	})
	mux.HandleFunc("POST /v1/auth/token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusOK, map[string]any{"accessToken": "reference", "tokenType": "Bearer", "expiresIn": 3600})
	})
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusAccepted, map[string]any{"itemId": "ref-item-" + strconv.FormatInt(items.Add(1), 10),
			"status": "pending", "endsAt": time.Now().Add(time.Hour).UTC()})
	})
	mux.HandleFunc("GET /v1/items/{itemId}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"itemId": r.PathValue("itemId"), "status": "open"})
	})
	return mux
}

// ServeReference starts Reference on 127.0.0.1 (a free port) and returns
// its base URL and a func that stops it.
func ServeReference() (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("reference handler: %w", err)
	}
	srv := &http.Server{Handler: Reference(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		wg.Wait()
	}, nil
}
