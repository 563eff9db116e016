package kafkaio_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kafkaPkg is confluent-kafka-go's client package.
const kafkaPkg = "github.com/confluentinc/confluent-kafka-go/v2/kafka"

// constructors are the librdkafka clients kafkaio owns.
var constructors = map[string]bool{
	"NewConsumer": true, "NewProducer": true, "NewAdminClient": true,
	"NewAdminClientFromProducer": true, "NewAdminClientFromConsumer": true,
}

// TestClientsOnlyInKafkaio: no package outside internal/kafkaio (and its
// kafkatest) constructs a librdkafka client. The settings every client of
// the flow needs (the fnv1a partitioner, earliest offsets, manual commits,
// static membership, log forwarding, bounded closes) live in kafkaio's
// Producer, Group and Reader; a client made by hand elsewhere silently
// goes without them. Make's lint target runs it too.
func TestClientsOnlyInKafkaio(t *testing.T) {
	root := moduleRoot(t)
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "node_modules" || name == "vendor" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "internal/kafkaio/") {
			return nil
		}
		calls, err := clientConstructors(path)
		if err != nil {
			return err
		}
		for _, c := range calls {
			found = append(found, rel+":"+c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("librdkafka clients constructed outside internal/kafkaio (use kafkaio.NewProducer, NewGroup, NewReader, or kafkatest in tests):\n  %s",
			strings.Join(found, "\n  "))
	}
}

// clientConstructors lists, as "line: kafka.NewX", the calls of the client
// constructors of confluent-kafka-go in the Go file at path, under whatever
// name the file imports the package.
func clientConstructors(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	name := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == kafkaPkg {
			name = "kafka"
			if imp.Name != nil {
				name = imp.Name.Name
			}
		}
	}
	if name == "" || name == "_" {
		return nil, nil
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || !constructors[sel.Sel.Name] {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
			out = append(out, fmt.Sprintf("%d: %s.%s", fset.Position(sel.Pos()).Line, name, sel.Sel.Name))
		}
		return true
	})
	return out, nil
}

// moduleRoot is the directory of the go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
