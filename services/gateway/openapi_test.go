package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/auctionflow/auction/functions/analytics"
	"github.com/auctionflow/auction/functions/analytics/analyticstest"
	"github.com/auctionflow/auction/functions/bidhistory"
	"github.com/auctionflow/auction/functions/faas"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/placebid"
	"github.com/auctionflow/auction/functions/placeitem"
	"github.com/auctionflow/auction/internal/idempotency"
	"github.com/auctionflow/auction/internal/userdir"
	"github.com/auctionflow/auction/schemas"
	"github.com/auctionflow/auction/services/auth"
	"github.com/auctionflow/auction/services/gateway"
	"github.com/auctionflow/auction/services/live"
	"github.com/auctionflow/auction/streams/auction"
)

// specMethods are the operation fields of an OpenAPI path item.
var specMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// specPathItemFields are the other fields a path item may hold.
var specPathItemFields = []string{"$ref", "summary", "description", "servers", "parameters"}

// specDoc is the parsed OpenAPI document.
type specDoc struct {
	root map[string]any
}

// specOp is one operation of the document.
type specOp struct {
	method string // upper case, as chi reports it
	path   string
	item   map[string]any // the path item
	op     map[string]any
	ptr    string // JSON pointer of op
}

func (o specOp) key() string { return o.method + " " + o.path }

func (o specOp) id() string {
	s, _ := o.op["operationId"].(string)
	return s
}

// loadSpec parses an OpenAPI document. Every mapping must have string keys,
// as in JSON: an unquoted status code (200:) is an integer key in YAML.
func loadSpec(t *testing.T, b []byte) *specDoc {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatalf("parse the OpenAPI document: got %v, want nil", err)
	}
	var bad []string
	specWalk(root, "", func(v any, ptr string) {
		if _, ok := v.(map[any]any); ok {
			bad = append(bad, ptr)
		}
	})
	if len(bad) > 0 {
		t.Fatalf("mappings with non-string keys (quote them, e.g. '200'): %v", bad)
	}
	return &specDoc{root: root}
}

// specWalk calls fn on v and everything under it, with its JSON pointer.
func specWalk(v any, ptr string, fn func(v any, ptr string)) {
	fn(v, ptr)
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			specWalk(v[k], ptr+"/"+specEscape(k), fn)
		}
	case []any:
		for i, x := range v {
			specWalk(x, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}

func specEscape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// resolve finds a local reference ("#/components/schemas/Item").
func (d *specDoc) resolve(ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("%q is not a reference within the document", ref)
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", ref, err)
	}
	var cur any = d.root
	if frag == "" {
		return cur, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("%q: no %q", ref, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("%q: no index %q", ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q: %q is inside a scalar", ref, tok)
		}
	}
	return cur, nil
}

// deref follows v's $ref, if any, to the object it names, and returns it
// with its JSON pointer (ptr when v is not a reference).
func (d *specDoc) deref(v any, ptr string) (map[string]any, string, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s: got %T, want an object", ptr, v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		next, err := d.resolve(ref)
		if err != nil {
			return nil, "", err
		}
		v, ptr = next, ref[1:]
	}
	return nil, "", fmt.Errorf("%s: $ref chain too long", ptr)
}

// operations lists every operation, in path then method order.
func (d *specDoc) operations(t *testing.T) []specOp {
	t.Helper()
	paths, ok := d.root["paths"].(map[string]any)
	if !ok {
		t.Fatalf("paths: got %T, want an object", d.root["paths"])
	}
	var ops []specOp
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, ok := paths[p].(map[string]any)
		if !ok {
			t.Errorf("path %s: got %T, want a path item", p, paths[p])
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(item)) {
			if slices.Contains(specPathItemFields, k) {
				continue
			}
			if !slices.Contains(specMethods, k) {
				t.Errorf("path %s: unknown field %q (methods are lower case: %v)", p, k, specMethods)
				continue
			}
			op, ok := item[k].(map[string]any)
			if !ok {
				t.Errorf("%s %s: got %T, want an operation", k, p, item[k])
				continue
			}
			ops = append(ops, specOp{method: strings.ToUpper(k), path: p, item: item, op: op,
				ptr: "/paths/" + specEscape(p) + "/" + k})
		}
	}
	return ops
}

// secured reports whether op needs credentials: its security (or the
// document's) has requirements and none of them is the empty, optional one.
func (d *specDoc) secured(op specOp) (bool, []map[string]any) {
	sec, ok := op.op["security"]
	if !ok {
		sec = d.root["security"]
	}
	list, _ := sec.([]any)
	var reqs []map[string]any
	for _, r := range list {
		m, _ := r.(map[string]any)
		if len(m) == 0 {
			return false, nil
		}
		reqs = append(reqs, m)
	}
	return len(reqs) > 0, reqs
}

// responses returns op's responses by status code.
func (o specOp) responses() map[string]any {
	r, _ := o.op["responses"].(map[string]any)
	return r
}

// jsonBody reports whether op takes an application/json request body.
func (d *specDoc) jsonBody(op specOp) (bool, error) {
	rb, ok := op.op["requestBody"]
	if !ok {
		return false, nil
	}
	body, _, err := d.deref(rb, op.ptr+"/requestBody")
	if err != nil {
		return false, err
	}
	content, _ := body["content"].(map[string]any)
	_, ok = content["application/json"]
	return ok, nil
}

var chiParam = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)

// routeKey normalises a chi route to an OpenAPI path: no trailing "/*" of a
// mount, no regexp in parameters.
func routeKey(method, route string) string {
	route = strings.TrimSuffix(route, "/*")
	if route == "" {
		route = "/"
	}
	return method + " " + chiParam.ReplaceAllString(route, "{$1}")
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := newEnv(t)
	routes, ok := e.handler.(chi.Routes)
	if !ok {
		t.Fatalf("Routes(): got %T, want a chi.Routes", e.handler)
	}
	served := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[routeKey(method, route)] = true
		return nil
	})
	if err != nil {
		t.Fatalf("chi.Walk: got %v, want nil", err)
	}
	if len(served) == 0 {
		t.Fatalf("chi.Walk: got no routes")
	}
	doc := loadSpec(t, schemas.OpenAPI())
	documented := map[string]specOp{}
	for _, op := range doc.operations(t) {
		documented[op.key()] = op
	}
	var missing, extra []string
	for k := range served {
		if _, ok := documented[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, k := range missing {
		t.Errorf("route %s is served but not in schemas/openapi.yaml", k)
	}
	for _, k := range extra {
		t.Errorf("operation %s is in schemas/openapi.yaml but the router does not serve it", k)
	}

	// A route behind the token middleware answers 401 with a challenge to a
	// request without credentials before it looks at anything else; the
	// spec must say so with security, and only there.
	t.Run("security matches the router", func(t *testing.T) {
		for _, k := range slices.Sorted(maps.Keys(served)) {
			op, ok := documented[k]
			if !ok {
				continue // reported above
			}
			method, route, _ := strings.Cut(k, " ")
			w := e.do(t, request{method: method, path: pathParam.ReplaceAllString(route, "x")})
			guarded := w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != ""
			if secured, _ := doc.secured(op); secured != guarded {
				t.Errorf("%s: documented as secured %v, but without a token it answers %d (WWW-Authenticate %q)",
					k, secured, w.Code, w.Header().Get("WWW-Authenticate"))
			}
		}
	})
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	w := e.do(t, request{method: http.MethodGet, path: "/v1/openapi.yaml"})
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want %d", w.Code, http.StatusOK)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Fatalf("Content-Type: got %q, want %q", ct, "application/yaml")
	}
	if !bytes.Equal(w.Body.Bytes(), schemas.OpenAPI()) {
		t.Fatalf("body: got %d bytes, want the %d embedded in schemas", w.Body.Len(), len(schemas.OpenAPI()))
	}
	var doc struct {
		OpenAPI string         `yaml:"openapi"`
		Info    map[string]any `yaml:"info"`
		Paths   map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("parse the served document: got %v, want nil", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: got %q, want %q", doc.OpenAPI, "3.1.0")
	}
	if doc.Info["version"] != "1" || len(doc.Paths) == 0 {
		t.Fatalf("info.version and paths: got %v and %d paths, want \"1\" and some", doc.Info["version"], len(doc.Paths))
	}
}

// specNoUnprocessable lists the operations with a JSON body that cannot
// answer 422, and why. The check fails if one of them documents 422 after
// all, so an entry cannot outlive its reason.
var specNoUnprocessable = map[string]string{
	"issueToken": "credentials are checked, not validated: a wrong or empty one is 401",
}

func TestOpenAPIWellFormed(t *testing.T) {
	doc := loadSpec(t, schemas.OpenAPI())
	ops := doc.operations(t)
	if len(ops) == 0 {
		t.Fatalf("operations: got none")
	}

	t.Run("version", func(t *testing.T) {
		if v := doc.root["openapi"]; v != "3.1.0" {
			t.Errorf("openapi: got %v, want 3.1.0", v)
		}
	})

	t.Run("operation ids", func(t *testing.T) {
		seen := map[string]string{}
		for _, op := range ops {
			id := op.id()
			switch {
			case id == "":
				t.Errorf("%s: no operationId", op.key())
			case seen[id] != "":
				t.Errorf("%s: operationId %q is also %s's", op.key(), id, seen[id])
			default:
				seen[id] = op.key()
			}
			if s, _ := op.op["summary"].(string); s == "" {
				t.Errorf("%s: no summary", op.key())
			}
			if len(op.responses()) == 0 {
				t.Errorf("%s: no responses", op.key())
			}
		}
	})

	t.Run("references resolve", func(t *testing.T) {
		n := 0
		specWalk(doc.root, "", func(v any, ptr string) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			ref, ok := m["$ref"]
			if !ok {
				return
			}
			n++
			s, ok := ref.(string)
			if !ok {
				t.Errorf("%s/$ref: got %T, want a string", ptr, ref)
				return
			}
			if _, err := doc.resolve(s); err != nil {
				t.Errorf("%s/$ref: %v", ptr, err)
			}
		})
		if n == 0 {
			t.Errorf("$ref: got none, want the shared components referenced")
		}
	})

	t.Run("secured operations list 401", func(t *testing.T) {
		schemes, _ := doc.root["components"].(map[string]any)["securitySchemes"].(map[string]any)
		for _, op := range ops {
			secured, reqs := doc.secured(op)
			for _, req := range reqs {
				for name := range req {
					if _, ok := schemes[name]; !ok {
						t.Errorf("%s: security scheme %q is not in components.securitySchemes", op.key(), name)
					}
				}
			}
			if !secured {
				continue
			}
			r, ok := op.responses()["401"]
			if !ok {
				t.Errorf("%s: secured, but 401 is not listed", op.key())
				continue
			}
			resp, _, err := doc.deref(r, op.ptr+"/responses/401")
			if err != nil {
				t.Errorf("%s: 401: %v", op.key(), err)
				continue
			}
			if h, _ := resp["headers"].(map[string]any); h["WWW-Authenticate"] == nil {
				t.Errorf("%s: 401 does not document the WWW-Authenticate header", op.key())
			}
		}
	})

	t.Run("JSON bodies list 400 413 415 422", func(t *testing.T) {
		for _, op := range ops {
			if !slices.Contains([]string{"POST", "PUT", "PATCH"}, op.method) {
				continue
			}
			hasJSON, err := doc.jsonBody(op)
			if err != nil {
				t.Errorf("%s: requestBody: %v", op.key(), err)
				continue
			}
			if !hasJSON {
				continue
			}
			for _, code := range []string{"400", "413", "415", "422"} {
				_, listed := op.responses()[code]
				why, exempt := specNoUnprocessable[op.id()]
				switch {
				case code == "422" && exempt && listed:
					t.Errorf("%s (%s): lists 422, but is exempt because %s; drop one or the other", op.key(), op.id(), why)
				case code == "422" && exempt:
				case !listed:
					t.Errorf("%s (%s): takes a JSON body but does not list %s", op.key(), op.id(), code)
				}
			}
		}
		for id := range specNoUnprocessable {
			if !slices.ContainsFunc(ops, func(op specOp) bool { return op.id() == id }) {
				t.Errorf("specNoUnprocessable: no operation %q", id)
			}
		}
	})

	t.Run("path parameters", func(t *testing.T) {
		for _, op := range ops {
			declared := map[string]bool{}
			for _, src := range []struct {
				list any
				ptr  string
			}{{op.item["parameters"], "/paths/" + specEscape(op.path) + "/parameters"}, {op.op["parameters"], op.ptr + "/parameters"}} {
				list, _ := src.list.([]any)
				for i, p := range list {
					param, _, err := doc.deref(p, src.ptr+"/"+strconv.Itoa(i))
					if err != nil {
						t.Errorf("%s: parameter: %v", op.key(), err)
						continue
					}
					if param["in"] != "path" {
						continue
					}
					name, _ := param["name"].(string)
					if param["required"] != true {
						t.Errorf("%s: path parameter %q is not required: true", op.key(), name)
					}
					declared[name] = true
				}
			}
			inPath := map[string]bool{}
			for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
				inPath[m[1]] = true
				if !declared[m[1]] {
					t.Errorf("%s: {%s} is not declared as a path parameter", op.key(), m[1])
				}
			}
			for name := range declared {
				if !inPath[name] {
					t.Errorf("%s: path parameter %q is not in the path", op.key(), name)
				}
			}
		}
	})

	t.Run("errors are problems", func(t *testing.T) {
		for _, op := range ops {
			for code, r := range op.responses() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 100 || status > 599 {
					t.Errorf("%s: response %q is not a status code", op.key(), code)
					continue
				}
				// 503 from readyz is a plain JSON report; 4xx and 500 are always problems.
				if status < 400 || status > 500 {
					continue
				}
				resp, _, err := doc.deref(r, op.ptr+"/responses/"+code)
				if err != nil {
					t.Errorf("%s: %s: %v", op.key(), code, err)
					continue
				}
				content, _ := resp["content"].(map[string]any)
				mt, _ := content["application/problem+json"].(map[string]any)
				schema, _ := mt["schema"].(map[string]any)
				if schema["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("%s: %s: want application/problem+json with the Problem schema, got content %v", op.key(), code, content)
				}
			}
		}
	})

	t.Run("schemas compile and examples are valid", func(t *testing.T) {
		c := newSpecCompiler(t, doc)
		comps, _ := doc.root["components"].(map[string]any)["schemas"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(comps)) {
			c.compile(t, "/components/schemas/"+specEscape(name))
		}
		n := 0
		specWalk(doc.root, "", func(v any, ptr string) {
			m, ok := v.(map[string]any)
			if !ok || m["schema"] == nil || m["examples"] == nil {
				return
			}
			examples, ok := m["examples"].(map[string]any)
			if !ok {
				t.Errorf("%s/examples: got %T, want a map of Example objects", ptr, m["examples"])
				return
			}
			sch := c.compile(t, ptr+"/schema")
			if sch == nil {
				return
			}
			for name, ex := range examples {
				exm, _ := ex.(map[string]any)
				val, ok := exm["value"]
				if !ok {
					continue
				}
				n++
				if err := sch.Validate(specJSON(t, val)); err != nil {
					t.Errorf("%s/examples/%s: %v", ptr, name, err)
				}
			}
		})
		if n == 0 {
			t.Errorf("examples: got none checked")
		}
	})
}

// specCompiler compiles the document's schemas as JSON Schema 2020-12.
type specCompiler struct {
	c   *jsonschema.Compiler
	doc *specDoc
}

const specURL = "https://auctionflow.dev/openapi.json"

func newSpecCompiler(t *testing.T, doc *specDoc) *specCompiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(specURL, specJSON(t, doc.root)); err != nil {
		t.Fatalf("AddResource: got %v, want nil", err)
	}
	return &specCompiler{c: c, doc: doc}
}

func (s *specCompiler) compile(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	sch, err := s.c.Compile(specURL + "#" + (&url.URL{Fragment: ptr}).EscapedFragment())
	if err != nil {
		t.Errorf("compile %s: %v", ptr, err)
		return nil
	}
	return sch
}

// specJSON turns a YAML value into what jsonschema validates: JSON values
// with json.Number numbers.
func specJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: got %v, want nil", v, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("unmarshal %s: got %v, want nil", b, err)
	}
	return out
}

// specInvoker adapts a function to gateway.Invoker.
type specInvoker[In, Out any] func(context.Context, In) (Out, error)

func (f specInvoker[In, Out]) Invoke(ctx context.Context, in In) (Out, error) { return f(ctx, in) }

// TestOpenAPIResponsesMatch sends real requests through the gateway and
// checks each answer against the spec: the status is listed for the
// operation, the content type and the headers the API sets are documented,
// and the body is valid against the documented schema (each event's data,
// for an event stream). Bodies sent as valid must be valid against the
// request schema too, so the spec is not stricter than the handlers.
func TestOpenAPIResponsesMatch(t *testing.T) {
	doc := loadSpec(t, schemas.OpenAPI())
	ops := map[string]specOp{}
	for _, op := range doc.operations(t) {
		ops[op.key()] = op
	}
	sc := newSpecCompiler(t, doc)

	endsAt := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	price := schemas.Money{Amount: 2500, Currency: "EUR"}
	item := func(id, category string) *schemas.ItemPlaced {
		return &schemas.ItemPlaced{
			ItemID: id, Seller: schemas.Party{ID: sellerID, Name: "Ada", Location: "GB-LON"},
			Title: "Bicycle", Description: "red", Category: category,
			StartingPrice: schemas.Money{Amount: 1000, Currency: "EUR"}, ReservePrice: &schemas.Money{Amount: 2000, Currency: "EUR"},
			MinIncrement: schemas.Money{Amount: 10, Currency: "EUR"}, EndsAt: endsAt, PlacedAt: endsAt.Add(-time.Hour),
		}
	}
	states := map[string]*auction.State{
		"item-42": {
			Status:   auction.StatusClosed,
			Item:     item("item-42", "bikes"),
			Highest:  &auction.Bid{BidID: "bid-1", BidderID: "u-bob", Amount: price, PlacedAt: endsAt.Add(-time.Minute)},
			BidCount: 3,
			Result:   &schemas.ItemCompleted{ItemID: "item-42", Sold: true, WinnerID: "u-bob", Price: &price},
		},
		"item-50": {Status: auction.StatusOpen, Item: item("item-50", "lamps")},
		"item-51": {Status: auction.StatusOpen, Item: item("item-51", "lamps")},
		"item-52": {Status: auction.StatusAwaitingItem},
	}
	history := []bidhistory.Entry{
		{BidID: "bid-1", ItemID: "item-42", BidderID: "u-bob", Amount: price, Status: schemas.StatusAccepted,
			PlacedAt: endsAt.Add(-2 * time.Minute), DecidedAt: endsAt.Add(-2 * time.Minute), BidCount: 1},
		{BidID: "bid-2", ItemID: "item-42", BidderID: sellerID, Amount: schemas.Money{Amount: 2501, Currency: "EUR"},
			Status: schemas.StatusRejected, Reason: schemas.ReasonBelowIncrement, Detail: "the highest bid is €25.00; bid at least €25.10",
			PlacedAt: endsAt.Add(-time.Minute), DecidedAt: endsAt.Add(-time.Minute)},
	}
	bidStatuses := map[string]*schemas.BidStatus{
		"bid-1": {BidID: "bid-1", ItemID: "item-42", BidderID: "u-bob", Amount: price, Status: schemas.StatusAccepted, UpdatedAt: endsAt},
		"bid-2": {BidID: "bid-2", ItemID: "item-42", BidderID: "u-eve", Amount: schemas.Money{Amount: 1001, Currency: "EUR"},
			Status: schemas.StatusRejected, Reason: schemas.ReasonBelowIncrement, Detail: "must beat 2500 by 10", UpdatedAt: endsAt},
	}
	accepted := live.Update{Accepted: &schemas.BidAccepted{BidID: "b-9", ItemID: "item-50", BidderID: "u-bob",
		Amount: price, PlacedAt: endsAt.Add(-time.Minute), DecidedAt: endsAt.Add(-time.Minute), BidCount: 1}}
	rejected := live.Update{Rejected: &schemas.BidRejected{BidID: "b-10", ItemID: "item-50", BidderID: "u-eve",
		Amount: schemas.Money{Amount: 100, Currency: "EUR"}, Reason: schemas.ReasonBelowStart, Detail: "below the starting price",
		PlacedAt: endsAt.Add(-time.Minute), DecidedAt: endsAt.Add(-time.Minute)}}
	completed := live.Update{Completed: &schemas.ItemCompleted{ItemID: "item-50", SellerID: sellerID, Title: "Bicycle",
		Category: "lamps", Sold: true, WinnerID: "u-bob", Price: &price, ReserveMet: true, BidCount: 1,
		Bidders: []string{"u-bob"}, EndsAt: endsAt, ClosedAt: endsAt}}
	unsold := live.Update{Completed: &schemas.ItemCompleted{ItemID: "item-50", SellerID: sellerID, Title: "Bicycle",
		Category: "lamps", EndsAt: endsAt, ClosedAt: endsAt}}
	unavailable := fmt.Errorf("produce: %w", faas.ErrUnavailable)
	inbox := map[string][]notify.Notification{
		sellerID: {
			{ID: "item-42/" + sellerID + "/sold", UserID: sellerID, ItemID: "item-42", Kind: schemas.NotifySold,
				Message: `Your item "Bicycle" sold for €25.00.`, At: endsAt.Add(time.Second), Email: email},
			{ID: "item-7/" + sellerID + "/lost", UserID: sellerID, ItemID: "item-7", Kind: schemas.NotifyLost,
				Message: `The auction for "Lamp" has closed without a sale: there were no bids.`, At: endsAt.Add(-time.Hour)},
		},
		"u-bob": {{ID: "item-42/u-bob/won", UserID: "u-bob", ItemID: "item-42", Kind: schemas.NotifyWon,
			Message: `You won the auction for "Bicycle" with your bid of €25.00.`, At: endsAt.Add(time.Second)}},
	}
	summaries := map[string]analytics.Summary{
		"": {Completed: 4, Sold: 3, Unsold: 1, SellThrough: 0.75, Bids: 10, BidsPerAuction: 2.5, UniqueBidders: 5,
			ByCurrency: map[string]analytics.CurrencyStats{
				"EUR": {Sold: 2, Volume: 7500, Average: 3750, Max: 5000},
				"GBP": {Sold: 1, Volume: 1200, Average: 1200, Max: 1200},
			}},
		"bikes": {Completed: 3, Sold: 1, Unsold: 2, SellThrough: 1.0 / 3, Bids: 7, BidsPerAuction: 7.0 / 3, UniqueBidders: 2,
			ByCurrency: map[string]analytics.CurrencyStats{"EUR": {Sold: 1, Volume: 2500, Average: 2500, Max: 2500}}},
	}
	bidders := map[string][]string{"bikes": {"u-bob", "u-eve"}}
	// The in-memory store holding the contract's fixture, for answers made
	// by a real store rather than a fake.
	store := analytics.NewMemory()
	for _, f := range analyticstest.Fixture() {
		if err := store.Apply(context.Background(), f); err != nil {
			t.Fatalf("Apply %s: got %v, want nil", f.ItemID, err)
		}
	}
	invalidPeriod := fmt.Errorf("2025-03-14T00:00:01Z is not midnight UTC: %w", analytics.ErrInvalidPeriod)
	storeDown := errors.New("dynamodb: connection reset")

	const (
		newUser = `{"name":"Grace","email":"grace@example.com","password":"analytical engine",` +
			`"address":{"line1":"1 Main St","city":"New York","postcode":"10001","country":"US"}}`
		badUser = `{"name":" ","email":"Grace <grace@example.com>","password":"short",` +
			`"address":{"line1":"","city":"","postcode":"","country":"gb"}}`
		bid = `{"amount":1500}`
	)
	batch := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"bids":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"itemId":"item-%d","amount":%d}`, i, i+1)
		}
		b.WriteString(`]}`)
		return b.String()
	}

	tests := []struct {
		name   string
		deps   specDeps
		route  string // the operation, as "METHOD /pattern"
		rq     specRequest
		authed bool
		prior  int // identical requests sent first
		status int
		valid  bool // the request body is valid against the spec
	}{
		{name: "healthz", route: "GET /healthz", rq: specRequest{path: "/healthz"}, status: 200},
		{name: "ready", route: "GET /readyz", rq: specRequest{path: "/readyz"}, status: 200},
		{name: "not ready", deps: specDeps{notReady: errors.New("still recovering")}, route: "GET /readyz",
			rq: specRequest{path: "/readyz"}, status: 503},
		{name: "openapi", route: "GET /v1/openapi.yaml", rq: specRequest{path: "/v1/openapi.yaml"}, status: 200},

		{name: "register", route: "POST /v1/users", rq: specRequest{path: "/v1/users", body: newUser}, status: 201, valid: true},
		{name: "register twice", route: "POST /v1/users", rq: specRequest{path: "/v1/users",
			body: strings.Replace(newUser, "grace@example.com", "ADA@example.com", 1)}, status: 409, valid: true},
		{name: "register refused", route: "POST /v1/users", rq: specRequest{path: "/v1/users", body: badUser}, status: 422},
		{name: "register malformed", route: "POST /v1/users", rq: specRequest{path: "/v1/users", body: `{"name":1}`}, status: 400},
		{name: "register too large", route: "POST /v1/users", rq: specRequest{path: "/v1/users",
			body: `{"name":"` + strings.Repeat("a", 70<<10) + `"}`}, status: 413},
		{name: "register as text", route: "POST /v1/users", rq: specRequest{path: "/v1/users", body: newUser,
			contentType: "text/plain"}, status: 415},

		{name: "token", route: "POST /v1/auth/token", rq: specRequest{path: "/v1/auth/token",
			body: `{"email":"ada@example.com","password":"` + password + `"}`}, status: 200, valid: true},
		{name: "token, wrong password", route: "POST /v1/auth/token", rq: specRequest{path: "/v1/auth/token",
			body: `{"email":"ada@example.com","password":"wrong"}`}, status: 401, valid: true},
		{name: "token, unknown field", route: "POST /v1/auth/token", rq: specRequest{path: "/v1/auth/token",
			body: `{"email":"ada@example.com","password":"x","admin":true}`}, status: 400},

		{name: "list items", route: "GET /v1/items", rq: specRequest{path: "/v1/items?status=open&category=lamps&limit=1"}, status: 200},
		{name: "list items, last page", route: "GET /v1/items", rq: specRequest{path: "/v1/items?cursor=c1." + base64.RawURLEncoding.EncodeToString([]byte("item-50"))}, status: 200},
		{name: "list items, bad query", route: "GET /v1/items", rq: specRequest{path: "/v1/items?status=sold&limit=0"}, status: 400},
		{name: "closed item", route: "GET /v1/items/{itemId}", rq: specRequest{path: "/v1/items/item-42"}, status: 200},
		{name: "open item", route: "GET /v1/items/{itemId}", rq: specRequest{path: "/v1/items/item-50"}, status: 200},
		{name: "unknown item", route: "GET /v1/items/{itemId}", rq: specRequest{path: "/v1/items/nope"}, status: 404},
		{name: "bid history", route: "GET /v1/items/{itemId}/bids", deps: specDeps{history: history},
			rq: specRequest{path: "/v1/items/item-42/bids"}, status: 200},
		{name: "bid history, a page and the next", route: "GET /v1/items/{itemId}/bids", deps: specDeps{history: history},
			rq: specRequest{path: "/v1/items/item-42/bids?limit=1&cursor=" + encodedCursor(history[1].Key())}, status: 200},
		{name: "bid history, unknown item", route: "GET /v1/items/{itemId}/bids", deps: specDeps{history: history},
			rq: specRequest{path: "/v1/items/nope/bids"}, status: 404},
		{name: "bid history, bad query", route: "GET /v1/items/{itemId}/bids", deps: specDeps{history: history},
			rq: specRequest{path: "/v1/items/item-42/bids?limit=500&cursor=x"}, status: 400},
		{name: "bid history, none kept", route: "GET /v1/items/{itemId}/bids",
			rq: specRequest{path: "/v1/items/item-42/bids"}, status: 503},
		{name: "a profile", route: "GET /v1/users/{userId}", rq: specRequest{path: "/v1/users/" + sellerID}, status: 200},
		{name: "an unknown user", route: "GET /v1/users/{userId}", rq: specRequest{path: "/v1/users/u-nobody"}, status: 404},
		{name: "accepted bid", route: "GET /v1/bids/{bidId}", deps: specDeps{bids: bidStatuses},
			rq: specRequest{path: "/v1/bids/bid-1"}, status: 200},
		{name: "rejected bid", route: "GET /v1/bids/{bidId}", deps: specDeps{bids: bidStatuses},
			rq: specRequest{path: "/v1/bids/bid-2"}, status: 200},
		{name: "unknown bid", route: "GET /v1/bids/{bidId}", deps: specDeps{bids: bidStatuses},
			rq: specRequest{path: "/v1/bids/nope"}, status: 404},

		{name: "events", route: "GET /v1/items/{itemId}/events", deps: specDeps{live: []live.Update{accepted, rejected, completed}},
			rq: specRequest{path: "/v1/items/item-50/events"}, status: 200},
		{name: "events, unsold", route: "GET /v1/items/{itemId}/events", deps: specDeps{live: []live.Update{unsold}},
			rq: specRequest{path: "/v1/items/item-50/events"}, status: 200},
		{name: "events, unknown item", route: "GET /v1/items/{itemId}/events", deps: specDeps{live: []live.Update{completed}},
			rq: specRequest{path: "/v1/items/nope/events"}, status: 404},
		{name: "events, not live", route: "GET /v1/items/{itemId}/events", rq: specRequest{path: "/v1/items/item-50/events"}, status: 503},
		{name: "lineage", route: "GET /v1/items/{itemId}/lineage", deps: specDeps{lineage: specChain("item-50")},
			rq: specRequest{path: "/v1/items/item-50/lineage"}, status: 200},
		{name: "lineage, unknown item", route: "GET /v1/items/{itemId}/lineage", deps: specDeps{lineage: specChain("item-50")},
			rq: specRequest{path: "/v1/items/nope/lineage"}, status: 404},
		{name: "lineage, store down", route: "GET /v1/items/{itemId}/lineage", deps: specDeps{storeErr: storeDown},
			rq: specRequest{path: "/v1/items/item-50/lineage"}, status: 500},

		{name: "place item", route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, authed: true, status: 202, valid: true},
		{name: "place item by endsAt", route: "POST /v1/items", rq: specRequest{path: "/v1/items",
			body: `{"title":"Lamp","category":"home","currency":"GBP","startingPrice":250,"endsAt":"2031-05-06T07:08:09Z"}`},
			authed: true, status: 202, valid: true},
		{name: "place item without a token", route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, status: 401},
		{name: "place item refused", deps: specDeps{placeItem: func(placeitem.Request) (placeitem.Result, error) {
			return placeitem.Result{Reasons: []schemas.FieldError{{Field: "/title", Code: "length", Message: "title must be 1 to 120 characters"}}}, nil
		}}, route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, authed: true, status: 422},
		{name: "place item, log down", deps: specDeps{placeItem: func(placeitem.Request) (placeitem.Result, error) {
			return placeitem.Result{}, unavailable
		}}, route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, authed: true, status: 503},
		{name: "place item fails", deps: specDeps{placeItem: func(placeitem.Request) (placeitem.Result, error) {
			return placeitem.Result{}, errors.New("boom")
		}}, route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, authed: true, status: 500},
		{name: "place item too often", deps: specDeps{rateLimit: gateway.RateLimit{Rate: 0.001, Burst: 1}},
			route: "POST /v1/items", rq: specRequest{path: "/v1/items", body: validItem}, authed: true, prior: 1, status: 429},

		{name: "bid", route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-50/bids", body: bid},
			authed: true, status: 202, valid: true},
		{name: "bid replayed", route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-50/bids",
			body: bid, idempotencyKey: "k-1"}, authed: true, prior: 1, status: 202, valid: true},
		{name: "bid, key reused", route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-51/bids",
			body: bid, idempotencyKey: "k-1"}, deps: specDeps{before: []specRequest{{path: "/v1/items/item-50/bids", body: bid, idempotencyKey: "k-1"}}},
			authed: true, status: 422, valid: true},
		{name: "bid refused", route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-50/bids", body: `{"amount":0}`},
			authed: true, status: 422},
		{name: "bid, long key", route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-50/bids",
			body: bid, idempotencyKey: strings.Repeat("k", 256)}, authed: true, status: 400},
		{name: "bid, log down", deps: specDeps{placeBid: func(placebid.Request) (placebid.Result, error) { return placebid.Result{}, unavailable }},
			route: "POST /v1/items/{itemId}/bids", rq: specRequest{path: "/v1/items/item-50/bids", body: bid},
			authed: true, status: 503, valid: true},
		{name: "bid, waited for acceptance", deps: specDeps{live: []live.Update{accepted}}, route: "POST /v1/items/{itemId}/bids",
			rq: specRequest{path: "/v1/items/item-50/bids", body: bid, prefer: "wait=5"}, authed: true, status: 200, valid: true},
		{name: "bid, waited for rejection", deps: specDeps{live: []live.Update{rejected}}, route: "POST /v1/items/{itemId}/bids",
			rq: specRequest{path: "/v1/items/item-50/bids", body: bid, prefer: "wait=5"}, authed: true, status: 409, valid: true},
		{name: "bid, waited for acceptance, replayed", deps: specDeps{live: []live.Update{accepted}}, route: "POST /v1/items/{itemId}/bids",
			rq:     specRequest{path: "/v1/items/item-50/bids", body: bid, prefer: "wait=5", idempotencyKey: "k-2"},
			authed: true, prior: 1, status: 200, valid: true},

		{name: "batch", route: "POST /v1/bids", rq: specRequest{path: "/v1/bids", body: batch(3)}, authed: true, status: 202, valid: true},
		{name: "batch with refusals", deps: specDeps{placeBid: func(r placebid.Request) (placebid.Result, error) {
			if r.ItemID == "item-1" {
				return placebid.Result{Reasons: []schemas.FieldError{{Field: "/itemId", Code: string(schemas.ReasonTooLate), Message: "the auction has ended"}}}, nil
			}
			return placebid.Result{BidID: "bid-2"}, nil
		}}, route: "POST /v1/bids", rq: specRequest{path: "/v1/bids",
			body: `{"bids":[{"itemId":"item-1","amount":10},{"itemId":"item-2","amount":5}]}`}, authed: true, status: 202, valid: true},
		{name: "batch breaking the contract", route: "POST /v1/bids", rq: specRequest{path: "/v1/bids",
			body: `{"bids":[{"itemId":"item-1","amount":0},{"itemId":"item-2","amount":5}]}`}, authed: true, status: 422},
		{name: "empty batch", route: "POST /v1/bids", rq: specRequest{path: "/v1/bids", body: `{"bids":[]}`}, authed: true, status: 422},
		{name: "batch too long", route: "POST /v1/bids", rq: specRequest{path: "/v1/bids", body: batch(1001)}, authed: true, status: 422},
		{name: "batch too large", route: "POST /v1/bids", rq: specRequest{path: "/v1/bids",
			body: `{"bids":[{"itemId":"` + strings.Repeat("i", 300<<10) + `","amount":1}]}`}, authed: true, status: 413},
		{name: "batch, log down", deps: specDeps{placeBid: func(placebid.Request) (placebid.Result, error) { return placebid.Result{}, unavailable }},
			route: "POST /v1/bids", rq: specRequest{path: "/v1/bids", body: batch(2)}, authed: true, status: 503, valid: true},

		{name: "my notifications", deps: specDeps{inbox: inbox}, route: "GET /v1/me/notifications",
			rq: specRequest{path: "/v1/me/notifications"}, authed: true, status: 200},
		{name: "my notifications, none", route: "GET /v1/me/notifications",
			rq: specRequest{path: "/v1/me/notifications"}, authed: true, status: 200},
		{name: "my notifications without a token", deps: specDeps{inbox: inbox}, route: "GET /v1/me/notifications",
			rq: specRequest{path: "/v1/me/notifications"}, status: 401},
		{name: "my notifications too often", deps: specDeps{inbox: inbox, rateLimit: gateway.RateLimit{Rate: 0.001, Burst: 1}},
			route: "GET /v1/me/notifications", rq: specRequest{path: "/v1/me/notifications"}, authed: true, prior: 1, status: 429},
		{name: "my notifications, store down", deps: specDeps{storeErr: storeDown}, route: "GET /v1/me/notifications",
			rq: specRequest{path: "/v1/me/notifications"}, authed: true, status: 500},

		{name: "analytics", deps: specDeps{summaries: summaries}, route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics?from=2026-11-23&to=2026-11-30"}, status: 200},
		{name: "analytics, unbounded", deps: specDeps{summaries: summaries}, route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics"}, status: 200},
		{name: "analytics, nothing completed", route: "GET /v1/analytics", rq: specRequest{path: "/v1/analytics?from=2026-11-23"}, status: 200},
		{name: "analytics from the store", deps: specDeps{analytics: store}, route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics?from=2025-03-14&to=2025-03-18"}, status: 200},
		{name: "analytics, bad dates", route: "GET /v1/analytics", rq: specRequest{path: "/v1/analytics?from=yesterday&to=2026-13-01"}, status: 400},
		{name: "analytics, to before from", route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics?from=2026-11-30&to=2026-11-23"}, status: 400},
		{name: "analytics, period refused", deps: specDeps{storeErr: invalidPeriod}, route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics"}, status: 400},
		{name: "analytics, store down", deps: specDeps{storeErr: storeDown}, route: "GET /v1/analytics",
			rq: specRequest{path: "/v1/analytics"}, status: 500},

		{name: "category analytics", deps: specDeps{summaries: summaries}, route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/bikes?from=2026-11-23&to=2026-11-30"}, status: 200},
		{name: "category analytics, nothing completed", route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/lamps"}, status: 200},
		{name: "category analytics from the store", deps: specDeps{analytics: store}, route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/games?from=2025-03-15&to=2025-03-16"}, status: 200},
		{name: "category analytics, bad date", route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/bikes?to=2026-11-31"}, status: 400},
		{name: "category analytics, period refused", deps: specDeps{storeErr: invalidPeriod}, route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/bikes"}, status: 400},
		{name: "category analytics, store down", deps: specDeps{storeErr: storeDown}, route: "GET /v1/analytics/categories/{category}",
			rq: specRequest{path: "/v1/analytics/categories/bikes"}, status: 500},

		{name: "bidders", deps: specDeps{bidders: bidders}, route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/bikes/bidders?from=2026-11-23&to=2026-11-30"}, status: 200},
		{name: "bidders, none", route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/lamps/bidders"}, status: 200},
		{name: "bidders from the store", deps: specDeps{analytics: store}, route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/books/bidders?from=2025-03-14"}, status: 200},
		{name: "bidders, bad date", route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/bikes/bidders?from=14.03.2025"}, status: 400},
		{name: "bidders, to before from", route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/bikes/bidders?from=2026-11-30&to=2026-11-29"}, status: 400},
		{name: "bidders, period refused", deps: specDeps{storeErr: invalidPeriod}, route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/bikes/bidders"}, status: 400},
		{name: "bidders, store down", deps: specDeps{storeErr: storeDown}, route: "GET /v1/analytics/categories/{category}/bidders",
			rq: specRequest{path: "/v1/analytics/categories/bikes/bidders"}, status: 500},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.route] = true
		t.Run(tt.name, func(t *testing.T) {
			op, ok := ops[tt.route]
			if !ok {
				t.Fatalf("operation %s: not in the spec", tt.route)
			}
			tt.deps.states = states
			h := specGateway(t, tt.deps)
			method, _, _ := strings.Cut(tt.route, " ")
			tt.rq.method = method
			if tt.authed {
				tt.rq.auth = "Bearer " + h.token(t)
			}
			if tt.valid {
				sc.validateRequest(t, op, tt.rq.body)
			}
			for _, rq := range tt.deps.before {
				rq.method, rq.auth = tt.rq.method, tt.rq.auth
				h.do(t, rq)
			}
			for range tt.prior {
				h.do(t, tt.rq)
			}
			w := h.do(t, tt.rq)
			if w.Code != tt.status {
				t.Fatalf("status: got %d, want %d (body %s)", w.Code, tt.status, w.Body)
			}
			sc.validateResponse(t, op, w.Code, w.Header(), w.Body.Bytes())
		})
	}
	// Every operation is exercised at least once, so a new route cannot
	// go unchecked.
	for k := range ops {
		if !seen[k] {
			t.Errorf("operation %s: no request in this test", k)
		}
	}
}

// specDeps configure specGateway. Nil functions accept.
type specDeps struct {
	placeItem func(placeitem.Request) (placeitem.Result, error)
	placeBid  func(placebid.Request) (placebid.Result, error)
	states    map[string]*auction.State
	bids      map[string]*schemas.BidStatus
	live      []live.Update // every Expect and Watch gets these; nil: live updates off
	notReady  error
	rateLimit gateway.RateLimit
	before    []specRequest                    // sent first, with the test's method and token
	inbox     map[string][]notify.Notification // by user, newest first
	summaries map[string]analytics.Summary     // by category, "" for all; absent: zeroes
	bidders   map[string][]string              // by category
	analytics gateway.Analytics                // nil: a fake over summaries and bidders
	storeErr  error                            // what the inbox, analytics and lineage stores answer instead
	lineage   []lineage.Entry                  // every item's events
	history   []bidhistory.Entry               // every item's decided bids; nil: no bid history
	// idempotency is the record of Idempotency-Keys; nil: the gateway's own.
	idempotency idempotency.Store
	// tokenKey signs the tokens; nil: a new one. Gateways that share a
	// record of keys share it, as replicas do.
	tokenKey []byte
}

// specLineage is a lineage store holding entries.
type specLineage struct {
	entries []lineage.Entry
	err     error
}

func (l specLineage) Chain(_ context.Context, id string) ([]lineage.Entry, error) {
	var out []lineage.Entry
	for _, e := range l.entries {
		if e.CorrelationID == id {
			out = append(out, e)
		}
	}
	return out, l.err
}

// specChain is the lineage of a sold auction with one bid.
func specChain(item string) []lineage.Entry {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e := func(id, typ, topic, cause string, offset int64) lineage.Entry {
		return lineage.Entry{ID: id, Type: typ, Source: "/auction", Subject: item, Time: at.Add(time.Duration(offset) * time.Second),
			CorrelationID: item, CausationID: cause, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Topic: topic, Partition: 2, Offset: offset}
	}
	return []lineage.Entry{
		e(item, schemas.TypeItemPlaced, schemas.TopicItems, "", 0),
		e("bid-1", schemas.TypeBidPlaced, schemas.TopicBids, item, 1),
		e("bid-1.accepted", schemas.TypeBidAccepted, schemas.TopicBidResults, "bid-1", 2),
	}
}

// specBids is the bid-status view.
type specBids map[string]*schemas.BidStatus

func (b specBids) Bid(id string) (*schemas.BidStatus, error) { return b[id], nil }

// specLive is a live tail that has already seen updates.
type specLive []live.Update

func (l specLive) updates() (<-chan live.Update, func()) {
	ch := make(chan live.Update, len(l))
	for _, u := range l {
		ch <- u
	}
	return ch, func() {}
}

func (l specLive) Expect(string) (<-chan live.Update, func()) { return l.updates() }
func (l specLive) Watch(string) (<-chan live.Update, func())  { return l.updates() }

// specGateway is a gateway with the user directory holding the seller,
// functions that accept unless told otherwise, and the views in d.
func specGateway(t *testing.T, d specDeps) *specEnv {
	t.Helper()
	key := d.tokenKey
	if key == nil {
		key = auth.GenerateKey()
	}
	tokens, err := auth.NewTokens(auth.Config{Key: key, Issuer: issuer, Audience: audience, TTL: tokenTTL}, nil)
	if err != nil {
		t.Fatalf("NewTokens: got %v, want nil", err)
	}
	hash, err := hashOnce()
	if err != nil {
		t.Fatalf("hash password: got %v, want nil", err)
	}
	dir := userdir.NewMemory()
	if err := dir.Create(context.Background(), userdir.User{ID: sellerID, Name: "Ada", Email: email, PasswordHash: hash,
		Address: userdir.Address{City: "London", Country: "GB"}}); err != nil {
		t.Fatalf("create user: got %v, want nil", err)
	}
	placeItem := d.placeItem
	if placeItem == nil {
		placeItem = func(placeitem.Request) (placeitem.Result, error) {
			return placeitem.Result{ItemID: "item-42", EndsAt: time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)}, nil
		}
	}
	placeBid := d.placeBid
	if placeBid == nil {
		// Refuse an amount that is not positive, as the function does.
		placeBid = func(r placebid.Request) (placebid.Result, error) {
			if r.Amount <= 0 {
				return placebid.Result{Reasons: []schemas.FieldError{{Field: "/amount", Code: "minimum",
					Message: "amount must be a positive amount in minor units"}}}, nil
			}
			id := r.BidID
			if id == "" {
				id = "bid-" + strconv.FormatInt(r.Amount, 10)
			}
			return placebid.Result{BidID: id}, nil
		}
	}
	deps := gateway.Deps{
		Tokens: tokens,
		Users:  dir,
		PlaceItem: specInvoker[placeitem.Request, placeitem.Result](func(_ context.Context, r placeitem.Request) (placeitem.Result, error) {
			return placeItem(r)
		}),
		PlaceBid: specInvoker[placebid.Request, placebid.Result](func(_ context.Context, r placebid.Request) (placebid.Result, error) {
			return placeBid(r)
		}),
		PlaceBids: specInvoker[[]placebid.Request, []placebid.Result](func(_ context.Context, rs []placebid.Request) ([]placebid.Result, error) {
			out := make([]placebid.Result, len(rs))
			for i, r := range rs {
				res, err := placeBid(r)
				if err != nil {
					return nil, err
				}
				out[i] = res
			}
			return out, nil
		}),
		Auctions:  &fakeAuctions{states: d.states},
		Bids:      specBids(d.bids),
		Inbox:     &fakeInbox{byUser: d.inbox, err: d.storeErr},
		Analytics: d.analytics,
		Lineage:   specLineage{entries: d.lineage, err: d.storeErr},
		Ready:     []gateway.Check{{Name: "kafka", Check: func(context.Context) error { return d.notReady }}},
		RateLimit: d.rateLimit,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),

		Idempotency: d.idempotency,
	}
	if d.history != nil {
		h := bidhistory.NewMemory()
		if err := h.Record(context.Background(), d.history); err != nil {
			t.Fatal(err)
		}
		deps.BidHistory = h
	}
	if d.live != nil {
		deps.Live = specLive(d.live)
	}
	if deps.Analytics == nil {
		deps.Analytics = &fakeAnalytics{summaries: d.summaries, bidders: d.bidders, err: d.storeErr}
	}
	return &specEnv{tokens: tokens, handler: gateway.New(deps).Routes()}
}

// specEnv is a gateway and the signer of its tokens.
type specEnv struct {
	tokens  *auth.Tokens
	handler http.Handler
}

// specRequest is a request, optionally with an Idempotency-Key.
type specRequest struct {
	method         string
	path           string
	body           string
	contentType    string // "" means application/json when there is a body
	auth           string // the whole Authorization header
	idempotencyKey string
	prefer         string
}

func (e *specEnv) token(t *testing.T) string {
	t.Helper()
	tok, err := e.tokens.Issue(sellerID, 0)
	if err != nil {
		t.Fatalf("Issue: got %v, want nil", err)
	}
	return tok
}

func (e *specEnv) do(t *testing.T, rq specRequest) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = http.NoBody
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	ct := rq.contentType
	if ct == "" && rq.body != "" {
		ct = "application/json"
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if rq.auth != "" {
		r.Header.Set("Authorization", rq.auth)
	}
	if rq.idempotencyKey != "" {
		r.Header.Set("Idempotency-Key", rq.idempotencyKey)
	}
	if rq.prefer != "" {
		r.Header.Set("Prefer", rq.prefer)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// validateRequest checks that body is valid against op's JSON request schema.
func (s *specCompiler) validateRequest(t *testing.T, op specOp, body string) {
	t.Helper()
	rb, ptr, err := s.doc.deref(op.op["requestBody"], op.ptr+"/requestBody")
	if err != nil {
		t.Fatalf("%s: requestBody: %v", op.key(), err)
	}
	if content, _ := rb["content"].(map[string]any); content["application/json"] == nil {
		t.Fatalf("%s: no application/json request body", op.key())
	}
	sch := s.compile(t, ptr+"/content/application~1json/schema")
	if sch == nil {
		return
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatalf("request body %s: got %v, want JSON", body, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s: the handler takes %s, but the spec's request schema refuses it: %v", op.key(), body, err)
	}
}

// specHeaders are the response headers the API sets on purpose; whenever a
// response carries one, the spec must document it for that response.
var specHeaders = []string{"Location", "Retry-After", "WWW-Authenticate", "Idempotent-Replayed", "Preference-Applied"}

// validateResponse checks an answer against op's documented responses.
func (s *specCompiler) validateResponse(t *testing.T, op specOp, status int, header http.Header, body []byte) {
	t.Helper()
	code := strconv.Itoa(status)
	r, ok := op.responses()[code]
	if !ok {
		t.Fatalf("%s answered %d, which the spec does not list (body %s)", op.key(), status, body)
	}
	resp, ptr, err := s.doc.deref(r, op.ptr+"/responses/"+code)
	if err != nil {
		t.Fatalf("%s: %s: %v", op.key(), code, err)
	}
	documented, _ := resp["headers"].(map[string]any)
	for _, h := range specHeaders {
		if header.Get(h) != "" && documented[h] == nil {
			t.Errorf("%s %d: sets %s: %q, which the spec does not document", op.key(), status, h, header.Get(h))
		}
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s %d: Content-Type %q: %v", op.key(), status, header.Get("Content-Type"), err)
	}
	content, _ := resp["content"].(map[string]any)
	if content[mt] == nil {
		t.Fatalf("%s %d: answers %s, but the spec documents %v", op.key(), status, mt, slices.Sorted(maps.Keys(content)))
	}
	if mt == "text/event-stream" {
		s.validateEvents(t, op, ptr+"/content/"+specEscape(mt), content[mt], body)
		return
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return
	}
	sch := s.compile(t, ptr+"/content/"+specEscape(mt)+"/schema")
	if sch == nil {
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %d: body %s: got %v, want JSON", op.key(), status, body, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s %d: the body does not match the spec: %v\nbody: %s", op.key(), status, err, body)
	}
}

// validateEvents checks a Server-Sent Events stream: every event is named in
// the media type's x-events, and its data is valid against that schema.
func (s *specCompiler) validateEvents(t *testing.T, op specOp, ptr string, mediaType any, body []byte) {
	t.Helper()
	mt, _ := mediaType.(map[string]any)
	events, _ := mt["x-events"].(map[string]any)
	if len(events) == 0 {
		t.Fatalf("%s: %s documents no x-events", op.key(), ptr)
	}
	n := 0
	for _, block := range strings.Split(strings.TrimSpace(string(body)), "\n\n") {
		var name, data string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, ":"): // a comment
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data += strings.TrimPrefix(line, "data: ")
			default:
				t.Errorf("%s: unexpected line %q in the event stream", op.key(), line)
			}
		}
		if name == "" && data == "" {
			continue
		}
		n++
		if events[name] == nil {
			t.Errorf("%s: sends event %q, which x-events does not document", op.key(), name)
			continue
		}
		sch := s.compile(t, ptr+"/x-events/"+specEscape(name))
		if sch == nil {
			continue
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(data))
		if err != nil {
			t.Errorf("%s: event %s: data %s: got %v, want JSON", op.key(), name, data, err)
			continue
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: event %s does not match the spec: %v\ndata: %s", op.key(), name, err, data)
		}
	}
	if n == 0 {
		t.Errorf("%s: no events in %q", op.key(), body)
	}
}

// encodedCursor is a cursor as the API gives it for key.
func encodedCursor(key string) string {
	return "c1." + base64.RawURLEncoding.EncodeToString([]byte(key))
}
