package infra_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/auctionflow/auction/functions/itemdir"
	"github.com/auctionflow/auction/functions/lineage"
	"github.com/auctionflow/auction/schemas"
)

// TestLambdaTemplate holds infra/aws/template.yaml to the code: every
// function it deploys is built by a Makefile target from a main of
// cmd/lambda; every environment variable it sets is one that function
// reads, and it sets every one the function requires; and each function's
// inline policy grants exactly what infra/iam grants its component, less
// the DescribeTable (and DescribeTimeToLive) statements of `auction run`'s
// start, which a Lambda build never calls. cfn-lint (make lint-aws) checks
// the template against CloudFormation's and SAM's own rules.
func TestLambdaTemplate(t *testing.T) {
	doc := lambdaTemplate(t)
	makefile, err := os.ReadFile(repoPath("Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	resources := get(doc.Content[0], "Resources")
	if resources == nil {
		t.Fatal("the template has no Resources")
	}
	var v []string
	functions := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if scalar(get(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		functions++
		if bm := scalar(get(get(res, "Metadata"), "BuildMethod")); bm != "makefile" {
			v = append(v, fmt.Sprintf("%s: BuildMethod %q, want makefile (cgo)", name, bm))
		}
		target := regexp.MustCompile(`(?m)^build-` + name + `:\n\t.*-o \$\(ARTIFACTS_DIR\)/bootstrap \./cmd/lambda/([a-z]+)$`).FindSubmatch(makefile)
		if target == nil {
			v = append(v, fmt.Sprintf("%s: no Makefile target build-%s building ./cmd/lambda/<function> into $(ARTIFACTS_DIR)/bootstrap", name, name))
			continue
		}
		dir := string(target[1])
		read, required := settingsRead(t, filepath.Join(repoPath("cmd", "lambda", dir), "*.go"), filepath.Join(repoPath("cmd", "lambda", "internal", "setup"), "*.go"),
			repoPath("cmd", "internal", "outofband", "env.go"), repoPath("cmd", "internal", "outofband", dir+".go"))
		set := map[string]bool{}
		vars := get(get(get(res, "Properties"), "Environment"), "Variables")
		for j := 0; vars != nil && j+1 < len(vars.Content); j += 2 {
			k := vars.Content[j].Value
			set[k] = true
			if !slices.Contains(read, k) {
				v = append(v, fmt.Sprintf("%s sets %s, which cmd/lambda/%s never reads (it reads %v)", name, k, dir, read))
			}
		}
		for _, k := range required {
			if !set[k] {
				v = append(v, fmt.Sprintf("%s does not set %s, which cmd/lambda/%s requires", name, k, dir))
			}
		}
		v = append(v, samePolicy(t, name, get(get(res, "Properties"), "Policies"), repoPath("infra", "iam", dir+".json"))...)
	}
	if functions < 6 {
		t.Fatalf("the template deploys %d functions, want the six of cmd/lambda", functions)
	}
	report(t, "the Lambda template", v)
}

// lambdaTemplate is infra/aws/template.yaml, parsed.
func lambdaTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(repoPath("infra", "aws", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// TestLambdaMappings holds the template's event source mappings to the
// functions: each function of the flow is fed the topics it reads (a
// mapping takes one topic), and no two mappings share a consumer group
// (Lambda refuses that, and each would see only part of the topic).
func TestLambdaMappings(t *testing.T) {
	doc := lambdaTemplate(t)
	want := map[string][]string{
		"NotifyFunction":    {schemas.TopicItemComplete, schemas.TopicBidResults},
		"AnalyticsFunction": {schemas.TopicItemComplete},
		"ItemDirFunction":   itemdir.Topics(),
		"LineageFunction":   lineage.Topics(),
	}
	var v []string
	groups := map[string]string{}
	resources := get(doc.Content[0], "Resources")
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		evs := get(get(res, "Properties"), "Events")
		var topics []string
		for j := 0; evs != nil && j+1 < len(evs.Content); j += 2 {
			ev := evs.Content[j+1]
			if scalar(get(ev, "Type")) != "MSK" {
				continue
			}
			props := get(ev, "Properties")
			if ts := listOrScalar(get(props, "Topics")); len(ts) != 1 {
				v = append(v, fmt.Sprintf("%s.%s: topics %v, want one", name, evs.Content[j].Value, ts))
			} else {
				topics = append(topics, ts[0])
			}
			g := scalar(get(props, "ConsumerGroupId"))
			if other, taken := groups[g]; taken || g == "" {
				v = append(v, fmt.Sprintf("%s.%s: consumer group %q, also %s's", name, evs.Content[j].Value, g, other))
			}
			groups[g] = name + "." + evs.Content[j].Value
		}
		w, fed := want[name]
		if !fed {
			if len(topics) > 0 {
				v = append(v, fmt.Sprintf("%s: mappings on %v, for a function this test does not know", name, topics))
			}
			continue
		}
		delete(want, name)
		slices.Sort(topics)
		if w = slices.Sorted(slices.Values(w)); !slices.Equal(topics, w) {
			v = append(v, fmt.Sprintf("%s: mappings on %v, want %v", name, topics, w))
		}
	}
	for name := range want {
		v = append(v, fmt.Sprintf("%s: not in the template", name))
	}
	report(t, "the Lambda template's mappings", v)
}

// settingsRead lists the AUCTION_* settings the non-test Go files that
// patterns match name (a main, the setup it shares, and the builder of its
// function in cmd/internal/outofband), and those passed to setup.Producer
// (which fails without them).
func settingsRead(t *testing.T, patterns ...string) (read, required []string) {
	t.Helper()
	for _, pattern := range patterns {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && regexp.MustCompile(`^AUCTION_[A-Z_]+$`).MatchString(s) {
						read = append(read, s)
					}
				}
				return true
			})
		}
	}
	slices.Sort(read)
	// Producer refuses to start without brokers.
	return slices.Compact(read), []string{"AUCTION_KAFKA_BROKERS"}
}

// samePolicy compares a function's inline policy statements with its
// component's infra/iam policy, less the statements for tables it only
// describes at start.
func samePolicy(t *testing.T, name string, policies *yaml.Node, iamFile string) []string {
	t.Helper()
	raw, err := os.ReadFile(iamFile)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var iam struct {
		Statement []struct {
			Sid      string
			Action   stringList
			Resource stringList
		}
	}
	if err := json.Unmarshal(raw, &iam); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, st := range iam.Statement {
		if strings.HasSuffix(st.Sid, "AtStart") {
			continue
		}
		want[st.Sid] = grant(st.Action, st.Resource)
	}
	got := map[string]string{}
	for _, p := range policies.Content {
		for _, st := range children(get(p, "Statement")) {
			actions, resources := listOrScalar(get(st, "Action")), []string(nil)
			for _, r := range listOrScalar(get(st, "Resource")) {
				r = strings.NewReplacer("${AWS::Region}", "${Region}", "${AWS::AccountId}", "${Account}").Replace(r)
				resources = append(resources, r)
			}
			got[scalar(get(st, "Sid"))] = grant(actions, resources)
		}
	}
	var v []string
	for sid, w := range want {
		if got[sid] != w {
			v = append(v, fmt.Sprintf("%s: statement %s grants %q, want %q as %s does", name, sid, got[sid], w, filepath.Base(iamFile)))
		}
	}
	for sid := range got {
		if _, ok := want[sid]; !ok {
			v = append(v, fmt.Sprintf("%s: statement %s is not in %s", name, sid, filepath.Base(iamFile)))
		}
	}
	return v
}

func grant(actions, resources []string) string {
	a, r := slices.Clone(actions), slices.Clone(resources)
	slices.Sort(a)
	slices.Sort(r)
	return strings.Join(a, ",") + " on " + strings.Join(r, ",")
}

// get is the value of key in the mapping n, nil if there is none.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// children is a sequence's items, none for anything else.
func children(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// listOrScalar is a sequence's scalars, or the one scalar (a !Sub's text).
func listOrScalar(n *yaml.Node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	default:
		return []string{n.Value}
	}
}
