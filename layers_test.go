// Package layers_test keeps the repository's imports pointing one way. The
// layers, from the bottom:
//
//	schemas              the contracts: events, topics, JSON Schemas, rules
//	internal             adapters and ports: Kafka, DynamoDB, user directory, metrics
//	functions            the function runtime and the functions
//	streams, services    the stream processor; the gateway and the other services
//	cmd, infra           the binary that wires everything; the deployment's tests
//
// A package may import packages of its own layer and of the layers below,
// never above: a port a function depends on lives below it (in internal/),
// and what a lower layer needs from a higher one it declares itself (an
// interface, a struct) for the higher one to fill in. Tests count: a test
// importing upwards ties the lower package to the higher one just the same.
package layers_test

import (
	"errors"
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the import path of the repository's root.
const module = "github.com/auctionflow/auction"

// layers ranks each top-level folder; a higher rank may import a lower one.
var layers = map[string]int{
	"schemas":   0,
	"internal":  1,
	"functions": 2,
	"streams":   3,
	"services":  3,
	"cmd":       4,
	"infra":     4,
	// The measurements sit with the commands, one of which runs them; that
	// no package of the platform imports them, cmd/auction-bench's
	// TestProductImportsNoBench checks.
	"bench": 4,
}

// pkg is one package of the repository and the project packages it imports
// (its tests' imports included).
type pkg struct {
	path    string // relative to the module: "functions/placebid"
	imports []string
}

// layerOf is the rank of a package given by its path relative to the
// module; ok is false for a folder no layer holds.
func layerOf(rel string) (rank int, ok bool) {
	top, _, _ := strings.Cut(rel, "/")
	rank, ok = layers[top]
	return rank, ok
}

// violations lists every import of pkgs that points up the layers, and
// every package in a folder no layer holds.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		from, ok := layerOf(p.path)
		if !ok {
			out = append(out, p.path+": in no layer (add its folder to layers)")
			continue
		}
		for _, imp := range p.imports {
			to, ok := layerOf(imp)
			if ok && to > from {
				out = append(out, p.path+" imports "+imp+", a layer above it")
			}
		}
	}
	return out
}

// TestLayers loads every package of the repository with go/build and fails
// on an import that points up the layers.
func TestLayers(t *testing.T) {
	pkgs := load(t, ".")
	if len(pkgs) < 20 {
		t.Fatalf("got %d packages, want the whole repository (at least 20)", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestLayersCatchUpwardImports: the check itself finds an import up the
// layers, in a package and in its tests, and a package outside every layer,
// and lets a test helper import its parent.
func TestLayersCatchUpwardImports(t *testing.T) {
	pkgs := []pkg{
		{path: "schemas", imports: []string{"schemas/cekafka"}},
		{path: "internal/metrics", imports: []string{"functions/trigger"}},
		{path: "internal/userdir/userdirtest", imports: []string{"internal/userdir"}},
		{path: "functions/placebid", imports: []string{"internal/userdir", "schemas", "functions/edge"}},
		{path: "streams/auction", imports: []string{"services/gateway"}},
		{path: "services/gateway", imports: []string{"streams/auction", "cmd/auction"}},
		{path: "tools/gen", imports: []string{"schemas"}},
	}
	got := violations(pkgs)
	want := []string{
		"internal/metrics imports functions/trigger, a layer above it",
		"services/gateway imports cmd/auction, a layer above it",
		"tools/gen: in no layer (add its folder to layers)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// load reads the imports of every package under root, skipping what the go
// tool skips (testdata, and folders starting with . or _) and node_modules.
func load(t *testing.T, root string) []pkg {
	t.Helper()
	var pkgs []pkg
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if dir != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if dir == root {
			return nil // this test's own folder: it imports nothing of the project
		}
		bp, err := build.Default.ImportDir(dir, 0)
		if _, ok := errors.AsType[*build.NoGoError](err); ok {
			return nil
		}
		if err != nil {
			return err
		}
		p := pkg{path: filepath.ToSlash(dir)}
		for _, imp := range slices.Concat(bp.Imports, bp.TestImports, bp.XTestImports) {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok && rel != p.path && !slices.Contains(p.imports, rel) {
				p.imports = append(p.imports, rel)
			}
		}
		slices.Sort(p.imports)
		pkgs = append(pkgs, p)
		return nil
	})
	if err != nil {
		t.Fatalf("load packages: %v", err)
	}
	return pkgs
}
