package infra_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the module root; `go test` runs in infra/.
const repoRoot = ".."

// setting is one row of `auction env`.
type setting struct {
	Name, Flag, Default, Doc string
}

// binaryFacts is what the auction binary says about itself: its AUCTION_*
// settings and the targets `auction run -target` accepts.
type binaryFacts struct {
	settings map[string]setting
	targets  []string
}

var (
	factsOnce sync.Once
	facts     binaryFacts
	factsErr  string
)

// platform runs `go run ./cmd/auction env` once and parses its table, so the
// checks follow the binary rather than a copy of its settings.
func platform(t *testing.T) binaryFacts {
	t.Helper()
	factsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", "./cmd/auction", "env")
		cmd.Dir = repoRoot
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			factsErr = "go run ./cmd/auction env: " + err.Error() + "\n" + stderr.String()
			return
		}
		facts, factsErr = parseEnvTable(stdout.String())
	})
	if factsErr != "" {
		t.Fatal(factsErr)
	}
	return facts
}

// parseEnvTable reads the markdown table `auction env` prints:
//
//	| `AUCTION_TARGET` | `-target` | `all` | components to run, comma-separated: gateway, processor, ... |
func parseEnvTable(out string) (binaryFacts, string) {
	f := binaryFacts{settings: map[string]setting{}}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| `AUCTION_") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 6 {
			return f, "auction env: row with fewer than four columns: " + line
		}
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		s := setting{
			Name: unquote(cols[1]), Flag: strings.TrimPrefix(unquote(cols[2]), "-"),
			Default: unquote(cols[3]), Doc: strings.TrimSpace(strings.Join(cols[4:len(cols)-1], "|")),
		}
		if s.Default == "(empty)" {
			s.Default = ""
		}
		f.settings[s.Name] = s
	}
	if len(f.settings) == 0 {
		return f, "auction env printed no AUCTION_* rows:\n" + out
	}
	target, ok := f.settings["AUCTION_TARGET"]
	if !ok {
		return f, "auction env has no AUCTION_TARGET row"
	}
	const marker = "comma-separated:"
	i := strings.Index(target.Doc, marker)
	if i < 0 {
		return f, "AUCTION_TARGET's description no longer lists the targets after " + marker + ": " + target.Doc
	}
	for _, name := range strings.Split(target.Doc[i+len(marker):], ",") {
		if name = strings.TrimSpace(name); name != "" {
			f.targets = append(f.targets, name)
		}
	}
	if len(f.targets) == 0 {
		return f, "AUCTION_TARGET's description lists no targets: " + target.Doc
	}
	return f, ""
}

// report fails t with every violation, one a line.
func report(t *testing.T, what string, violations []string) {
	t.Helper()
	if len(violations) == 0 {
		return
	}
	t.Errorf("%s: %d violation(s):\n  - %s", what, len(violations), strings.Join(violations, "\n  - "))
}

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot}, parts...)...)
}
