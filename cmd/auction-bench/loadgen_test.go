package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadgenReference runs the bid and batch scenarios of `auction-bench loadgen`
// against the built-in reference handler and reads the JSON it writes.
func TestLoadgenReference(t *testing.T) {
	for _, tc := range []struct {
		scenario  string
		wantUnits int64
	}{{"bid", 40}, {"batch", 40 * 10}} {
		t.Run(tc.scenario, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "result.json")
			var stdout strings.Builder
			err := loadCommand(context.Background(), []string{"-scenario", tc.scenario, "-reference",
				"-rate", "400", "-count", "40", "-batch", "10", "-users", "2", "-items", "3", "-quiet", "-json", out},
				&stdout, io.Discard)
			if err != nil {
				t.Fatalf("loadgen: %v", err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Runs []struct {
					Sent   int64
					Units  int64
					Status struct {
						OK int64 `json:"2xx"`
					}
				}
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if len(rep.Runs) != 1 || rep.Runs[0].Sent != 40 || rep.Runs[0].Status.OK != 40 || rep.Runs[0].Units != tc.wantUnits {
				t.Errorf("got runs %+v, want one of 40 sent, 40 ok, %d units", rep.Runs, tc.wantUnits)
			}
			if !strings.Contains(stdout.String(), "p99") {
				t.Errorf("got stdout %q, want the result table", stdout.String())
			}
		})
	}
}

func TestLoadgenRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-scenario", "nope"},
		{"-e2e"},
		{"-baseline"},
		{"-batch", "1001"},
	} {
		err := loadCommand(context.Background(), args, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("loadgen %v: got no error, want one", args)
		}
	}
}
