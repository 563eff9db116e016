package infra_test

// TestIAMPolicies holds infra/iam/*.json to least privilege: each policy
// grants exactly the DynamoDB actions its component calls, on exactly the
// tables it calls them on, and every action is one the table's adapter can
// call at all (the methods of its DynamoAPI and TableAPI interfaces, read
// from the source, so a changed adapter shows up here).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Tables are named by their settings; the ARNs use the settings' defaults.
const (
	usersTable         = "AUCTION_USERS_TABLE"
	notificationsTable = "AUCTION_NOTIFICATIONS_TABLE"
	analyticsTable     = "AUCTION_ANALYTICS_TABLE"
	lineageTable       = "AUCTION_LINEAGE_TABLE"
	idempotencyTable   = "AUCTION_IDEMPOTENCY_TABLE"
	bidHistoryTable    = "AUCTION_BID_HISTORY_TABLE"
	// The item directory's table is the Lambda edge's alone: infra/aws's
	// template makes it, and `auction run` never opens it.
	itemsTable = "AUCTION_ITEMS_TABLE"
)

// lambdaTables are the tables of the Lambda edge alone, with their
// default names (those of cmd/internal/outofband).
var lambdaTables = map[string]string{itemsTable: "auction-items"}

// adapters is the file declaring each table's DynamoAPI (serving) and
// TableAPI (EnsureTable) interfaces.
var adapters = map[string]string{
	usersTable:         "internal/userdir/dynamo.go",
	notificationsTable: "functions/notify/dynamo.go",
	analyticsTable:     "functions/analytics/dynamo.go",
	lineageTable:       "functions/lineage/dynamo.go",
	idempotencyTable:   "internal/idempotency/dynamo.go",
	bidHistoryTable:    "functions/bidhistory/dynamo.go",
	itemsTable:         "functions/itemdir/dynamo.go",
}

// ensureTable is what every process calls at start: cmd/auction/stores.go
// (openStores) runs EnsureTable on all six tables whatever the targets,
// and EnsureTable describes first, creating only a missing table. So every
// component needs DescribeTable on every table, and CreateTable only where
// tables are not made beforehand (init.json, or infrastructure code).
var ensureTable = []string{"dynamodb:DescribeTable"}

// ensureIdempotency is ensureTable for the record of Idempotency-Keys,
// whose EnsureTable also reads its time to live (and turns it on, where
// the table is made: init.json).
var ensureIdempotency = []string{"dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"}

// policies is, per file, the actions each table must be granted: no more,
// no fewer. Read from the adapters' calls (see each comment).
var policies = map[string]map[string][]string{
	"gateway.json": {
		// userdir.Dynamo: Get, ByEmail = GetItem; Create = PutItem (the email
		// claim and the user row, both conditional) and DeleteItem (release
		// the claim when the user row fails). Registration, sign-in, demo
		// users, enrichment of items and bids, and /readyz.
		usersTable: append([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}, ensureTable...),
		// GET /v1/me/notifications: notify.Dynamo.ForUser = Query.
		notificationsTable: append([]string{"dynamodb:Query"}, ensureTable...),
		// GET /v1/analytics…: analytics.Dynamo.Summary and Bidders = Query.
		analyticsTable: append([]string{"dynamodb:Query"}, ensureTable...),
		// GET /v1/items/{id}/lineage: lineage.Dynamo.Chain = Query.
		lineageTable: append([]string{"dynamodb:Query"}, ensureTable...),
		// GET /v1/items/{id}/bids: bidhistory.Dynamo.Page = Query.
		bidHistoryTable: append([]string{"dynamodb:Query"}, ensureTable...),
		// Every write with an Idempotency-Key: idempotency.Dynamo.Claim =
		// PutItem (conditional) and GetItem (the record it lost to);
		// Complete = PutItem; Release = DeleteItem.
		idempotencyTable: append([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}, ensureIdempotency...),
	},
	"notify.json": {
		// notify.Dynamo: Reserve = PutItem (record, inbox entry) and GetItem
		// (the record a lost race left); MarkSent = GetItem, PutItem (inbox
		// entry) and UpdateItem (the record's sent mark). ForUser (Query) is
		// the gateway's, not the function's.
		notificationsTable: append([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, ensureTable...),
		// The recipient's name and email: userdir.Dynamo.Get = GetItem.
		usersTable:       append([]string{"dynamodb:GetItem"}, ensureTable...),
		analyticsTable:   ensureTable,
		lineageTable:     ensureTable,
		idempotencyTable: ensureIdempotency,
		bidHistoryTable:  ensureTable,
	},
	"analytics.json": {
		// analytics.Dynamo.Apply: claim = PutItem (conditional) and GetItem
		// (the earlier claim), putFact = PutItem, count and raiseMax =
		// UpdateItem. Summary and Bidders (Query) are the gateway's.
		analyticsTable:     append([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, ensureTable...),
		usersTable:         ensureTable,
		notificationsTable: ensureTable,
		lineageTable:       ensureTable,
		idempotencyTable:   ensureIdempotency,
		bidHistoryTable:    ensureTable,
	},
	"lineage.json": {
		// lineage.Dynamo.Record = PutItem (conditional). Chain (Query) is
		// the gateway's.
		lineageTable: append([]string{"dynamodb:PutItem"}, ensureTable...),
		// The bid history runs with lineage: bidhistory.Dynamo.Record =
		// PutItem (conditional). Page (Query) is the gateway's.
		bidHistoryTable:    append([]string{"dynamodb:PutItem"}, ensureTable...),
		usersTable:         ensureTable,
		notificationsTable: ensureTable,
		analyticsTable:     ensureTable,
		idempotencyTable:   ensureIdempotency,
	},
	// The processor and the closer use no table, but with AUCTION_STORE=dynamodb
	// they open (describe) all six at start. With AUCTION_STORE=memory they
	// need no DynamoDB access at all.
	"describe-tables.json": {
		usersTable:         ensureTable,
		notificationsTable: ensureTable,
		analyticsTable:     ensureTable,
		lineageTable:       ensureTable,
		idempotencyTable:   ensureIdempotency,
		bidHistoryTable:    ensureTable,
	},
	// The edge functions on Lambda (cmd/lambda, infra/aws) open no table
	// at start. placeitem and placebid look the caller up
	// (userdir.Dynamo.Get = GetItem) and keep Idempotency-Keys as the
	// gateway does; placebid looks items up in the item directory
	// (itemdir.Dynamo.Item = GetItem), which itemdir keeps
	// (itemdir.Dynamo.Record = UpdateItem).
	"placeitem.json": {
		usersTable:       {"dynamodb:GetItem"},
		idempotencyTable: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
	},
	"placebid.json": {
		usersTable:       {"dynamodb:GetItem"},
		idempotencyTable: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
		itemsTable:       {"dynamodb:GetItem"},
	},
	"itemdir.json": {
		itemsTable: {"dynamodb:UpdateItem"},
	},
	// `auction init` (the compose `init` service, a deploy job): EnsureTable
	// on all six, which creates the missing ones.
	"init.json": {
		usersTable:         {"dynamodb:DescribeTable", "dynamodb:CreateTable"},
		notificationsTable: {"dynamodb:DescribeTable", "dynamodb:CreateTable"},
		analyticsTable:     {"dynamodb:DescribeTable", "dynamodb:CreateTable"},
		lineageTable:       {"dynamodb:DescribeTable", "dynamodb:CreateTable"},
		idempotencyTable:   {"dynamodb:DescribeTable", "dynamodb:CreateTable", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive"},
		bidHistoryTable:    {"dynamodb:DescribeTable", "dynamodb:CreateTable"},
	},
}

var tableARN = regexp.MustCompile(`^arn:aws:dynamodb:\$\{Region\}:\$\{Account\}:table/([A-Za-z0-9_.-]{3,255})$`)

// policyDoc is an identity-based IAM policy; unknown keys are refused.
type policyDoc struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    stringList
		Resource  stringList
		Condition map[string]any
	}
}

// stringList is IAM's "a string or a list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = []string{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func TestIAMPolicies(t *testing.T) {
	bin := platform(t)

	// The table names in the ARNs are the settings' defaults.
	tableSetting := map[string]string{} // table name -> setting
	tableOf := func(setting string) string {
		if name, ok := lambdaTables[setting]; ok {
			return name
		}
		return bin.settings[setting].Default
	}
	for setting := range adapters {
		if name, ok := lambdaTables[setting]; ok {
			tableSetting[name] = setting
			continue
		}
		s, ok := bin.settings[setting]
		if !ok || s.Default == "" {
			t.Fatalf("`auction env` has no default for %s", setting)
		}
		tableSetting[s.Default] = setting
	}

	// What each adapter can call at all.
	callable := map[string][]string{}
	for setting, file := range adapters {
		methods, err := interfaceMethods(repoPath(file), "DynamoAPI", "TableAPI")
		if err != nil {
			t.Fatal(err)
		}
		callable[setting] = methods
	}

	files, err := filepath.Glob(repoPath("infra", "iam", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v []string
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		want, known := policies[name]
		if !known {
			v = append(v, fmt.Sprintf("%s: not known to this test: add what it must grant to policies", name))
			continue
		}
		granted, errs := readPolicy(path, tableSetting)
		v = append(v, errs...)
		for setting, actions := range granted {
			for _, a := range actions {
				if !slices.Contains(callable[setting], a) {
					v = append(v, fmt.Sprintf("%s grants %s on %s, which %s never calls (it calls %v)", name, a, tableOf(setting), adapters[setting], callable[setting]))
				}
			}
		}
		for _, setting := range slices.Sorted(maps.Keys(adapters)) {
			table := tableOf(setting)
			got, wanted := granted[setting], want[setting]
			for _, a := range wanted {
				if !slices.Contains(got, a) {
					v = append(v, fmt.Sprintf("%s does not grant %s on %s, which the component calls", name, a, table))
				}
			}
			for _, a := range got {
				if !slices.Contains(wanted, a) {
					v = append(v, fmt.Sprintf("%s grants %s on %s, which the component does not need", name, a, table))
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		if !seen[name] {
			v = append(v, fmt.Sprintf("infra/iam/%s is missing", name))
		}
	}
	report(t, "IAM policies", v)
}

// readPolicy returns the actions path grants, by table setting, and what is
// wrong with its form.
func readPolicy(path string, tableSetting map[string]string) (map[string][]string, []string) {
	name := filepath.Base(path)
	var v []string
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc policyDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, []string{fmt.Sprintf("%s: not an identity policy: %v", name, err)}
	}
	if doc.Version != "2012-10-17" {
		v = append(v, fmt.Sprintf("%s: Version %q, want 2012-10-17", name, doc.Version))
	}
	if len(doc.Statement) == 0 {
		v = append(v, fmt.Sprintf("%s: no statements", name))
	}
	granted := map[string][]string{}
	sids := map[string]bool{}
	for i, st := range doc.Statement {
		where := fmt.Sprintf("%s statement %d (%s)", name, i, st.Sid)
		if st.Sid != "" && sids[st.Sid] {
			v = append(v, fmt.Sprintf("%s: Sid used twice", where))
		}
		sids[st.Sid] = true
		if st.Effect != "Allow" {
			v = append(v, fmt.Sprintf("%s: Effect %q, want Allow", where, st.Effect))
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			v = append(v, fmt.Sprintf("%s: needs Action and Resource", where))
		}
		for _, a := range st.Action {
			if !strings.HasPrefix(a, "dynamodb:") || strings.ContainsAny(a, "*?") {
				v = append(v, fmt.Sprintf("%s: action %q: want one named dynamodb: action, no wildcards", where, a))
			}
		}
		for _, r := range st.Resource {
			m := tableARN.FindStringSubmatch(r)
			if m == nil {
				v = append(v, fmt.Sprintf("%s: resource %q: want arn:aws:dynamodb:${Region}:${Account}:table/<name>, no wildcards", where, r))
				continue
			}
			setting, ok := tableSetting[m[1]]
			if !ok {
				v = append(v, fmt.Sprintf("%s: table %q is none of the platform's (%v)", where, m[1], slices.Sorted(maps.Keys(tableSetting))))
				continue
			}
			for _, a := range st.Action {
				if !slices.Contains(granted[setting], a) {
					granted[setting] = append(granted[setting], a)
				}
			}
		}
	}
	return granted, v
}

// interfaceMethods returns "dynamodb:<Method>" for every method of the named
// interfaces declared in file's package. An interface may be an alias of, or
// embed, one from another package of this module (internal/dynamotable).
func interfaceMethods(file string, names ...string) ([]string, error) {
	var out []string
	for _, n := range names {
		methods, err := methodsOf(filepath.Dir(file), n, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, methods...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

const modulePath = "github.com/auctionflow/auction/"

// methodsOf finds type name in the package in dir and lists its methods.
func methodsOf(dir, name string, depth int) ([]string, error) {
	if depth > 5 {
		return nil, fmt.Errorf("interface %s: aliases nest too deep", name)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				if ts := spec.(*ast.TypeSpec); ts.Name.Name == name {
					return typeMethods(f, dir, ts.Type, depth)
				}
			}
		}
	}
	return nil, fmt.Errorf("no type %s in %s", name, dir)
}

// typeMethods lists the methods of an interface type expression: its own,
// those of embedded interfaces, or those of the type an alias names.
func typeMethods(f *ast.File, dir string, expr ast.Expr, depth int) ([]string, error) {
	switch e := expr.(type) {
	case *ast.Ident: // same package
		return methodsOf(dir, e.Name, depth+1)
	case *ast.SelectorExpr: // pkg.Type, from this module only
		pkg, ok := e.X.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("cannot follow %T", e.X)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			local := filepath.Base(path)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == pkg.Name && strings.HasPrefix(path, modulePath) {
				return methodsOf(repoPath(strings.TrimPrefix(path, modulePath)), e.Sel.Name, depth+1)
			}
		}
		return nil, fmt.Errorf("%s.%s is not from this module", pkg.Name, e.Sel.Name)
	case *ast.InterfaceType:
		var out []string
		for _, m := range e.Methods.List {
			if len(m.Names) == 0 { // embedded interface
				more, err := typeMethods(f, dir, m.Type, depth)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
				continue
			}
			for _, id := range m.Names {
				out = append(out, "dynamodb:"+id.Name)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%T is not an interface", expr)
}
