package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs the README's curl walkthrough, as written,
// against the platform, so the first thing a newcomer tries keeps working.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 15 s auction")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed to run the README walkthrough (.ci/run installs it)", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, string(readme))

	// Twice on one platform, as a newcomer who tries it again would: the
	// second run meets the first run's users, items and keys, and must end
	// the same way.
	p := startPlatform(t, map[string]string{"AUCTION_CLOSE_GRACE": "1s"})
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		cmd.Env = append(os.Environ(), "BASE="+p.base)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("walkthrough run %d failed: %v\n%s", run, err, out)
		}
		for _, want := range []string{
			`"title":"Vintage camera"`, `"status":"accepted"`, "below_minimum_increment", `"code":"length"`,
			"event: item-completed", `"winnerId": "u-bob"`, `"price": 6000`, `"winnerName": "Bob Baker"`,
			`"minimumNext":{"amount":5550,"currency":"EUR"}`,
			// The history, newest first: Bob's 6000, Bob's refused 5510, Dan's 5500.
			"Bob Baker\t6000\taccepted\t\nBob Baker\t5510\trejected\tbelow_minimum_increment\nDan Dale\t5500\taccepted\t\n",
			`{"id":"u-bob","name":"Bob Baker"}`,
		} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("walkthrough run %d output lacks %q:\n%s", run, want, out)
			}
		}
	}
}

// walkthrough is the first sh block after the walkthrough heading.
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "## Walkthrough with curl")
	if !ok {
		t.Fatal("README has no walkthrough section")
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatal("README walkthrough has no sh block")
	}
	script, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README walkthrough block is not closed")
	}
	return script
}
