package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestProductImportsNoBench: the bench tree sits on top of the platform. It
// may import any package of it, and no package of the platform (tests
// included) imports bench/ or this command, so the product binary never
// carries the load generator and a change to the tooling never touches the
// product.
func TestProductImportsNoBench(t *testing.T) {
	const module = "github.com/auctionflow/auction/"
	root := filepath.Join("..", "..")
	var found []string
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel == "bench" || rel == "cmd/auction-bench" || (path != root && (strings.HasPrefix(name, ".") ||
				strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if rest, ok := strings.CutPrefix(p, module); ok && (rest == "bench" || strings.HasPrefix(rest, "bench/") || rest == "cmd/auction-bench") {
				found = append(found, rel+" imports "+rest)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("got %d Go files outside the bench tree, want the whole repository (at least 50)", files)
	}
	for _, f := range found {
		t.Errorf("%s: only the bench tree may import it", f)
	}
}
