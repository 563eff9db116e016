// Package dynamotest gives tests a DynamoDB endpoint: the one named by
// DYNAMODB_ENDPOINT, or else a dynalite server it starts for the test and
// stops when the test ends; and, on it, a client (Client) and tables named
// for the test that go when it ends (NewTable). It is how the same contract
// suites run against the in-memory fakes and the DynamoDB adapters (see
// internal/userdir/userdirtest).
//
// dynalite is pinned in infra/dynalite; install it with
//
//	npm ci --prefix infra/dynalite
//
// Without it a test skips, except in CI (CI set), where it fails, so a broken
// install cannot turn the integration tests into silent skips.
package dynamotest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/internal/syncbuf"
)

// EndpointEnv names the variable that points the tests at a running
// DynamoDB-compatible server instead of a dynalite of their own.
const EndpointEnv = "DYNAMODB_ENDPOINT"

// InstallCommand installs the pinned dynalite, run from the repository root.
const InstallCommand = "npm ci --prefix infra/dynalite"

const (
	// startTimeout bounds how long dynalite may take to listen. Node starts
	// in well under a second; the margin is for loaded CI machines.
	startTimeout = 20 * time.Second
	// startAttempts covers the small window in which another process takes
	// the free port between our probe and dynalite's bind.
	startAttempts = 3
	stopTimeout   = 5 * time.Second
)

// Endpoint returns the URL of a DynamoDB-compatible server for t. With
// DYNAMODB_ENDPOINT set it returns that; otherwise it starts dynalite on a
// free port of 127.0.0.1 and stops it when t ends. Tables live in the
// server's memory, so they go with it; use Table for names that do not clash
// on a shared server.
func Endpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(EndpointEnv); ep != "" {
		return ep
	}
	bin, err := dynaliteBin()
	if err != nil {
		msg := fmt.Sprintf("dynalite is not available: %v; run `%s` from the repository root (needs Node.js 20 or later), or set %s", err, InstallCommand, EndpointEnv)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for attempt := 1; ; attempt++ {
		ep, err := start(t, bin)
		if err == nil {
			return ep
		}
		var early *exitedError
		if !errors.As(err, &early) || attempt == startAttempts {
			t.Fatalf("start dynalite: %v", err)
		}
		t.Logf("start dynalite (attempt %d of %d): %v", attempt, startAttempts, err)
	}
}

// Table returns a table name unique to this run of t, built from the test's
// name so that a table left on a shared server says where it came from.
func Table(t testing.TB) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, t.Name())
	// DynamoDB allows 255 characters; keep room for the prefix and suffix.
	if len(name) > 200 {
		name = name[:200]
	}
	return "test-" + name + "-" + strings.ToLower(rand.Text()[:12])
}

// dynaliteBin finds the dynalite installed in infra/dynalite and its
// launcher there, serve.js (dynalite's command line, made to survive a
// client killed mid-request), and node to run it.
func dynaliteBin() (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("node is not on PATH")
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "infra", "dynalite", "node_modules", "dynalite", "cli.js")); err != nil {
		return "", fmt.Errorf("%s is missing", filepath.Join("infra", "dynalite", "node_modules", "dynalite"))
	}
	return filepath.Join(root, "infra", "dynalite", "serve.js"), nil
}

// repoRoot walks up from the working directory, which go test sets to the
// package being tested, to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// exitedError is dynalite exiting before it listened, typically because the
// port was taken after we found it free.
type exitedError struct {
	err    error
	output string
}

func (e *exitedError) Error() string {
	return fmt.Sprintf("dynalite exited before listening (%v); output:\n%s", e.err, e.output)
}

// start runs one dynalite and waits until its port accepts connections.
func start(t testing.TB, bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// --createTableMs 50: tables become ACTIVE almost at once (the default
	// is 500ms), while EnsureTable's wait for ACTIVE is still exercised.
	cmd := exec.Command("node", bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "50")
	out := new(syncbuf.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = stopTimeout
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		killProcessGroup(cmd)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			t.Logf("dynalite (pid %d) did not exit within %v of being killed", cmd.Process.Pid, stopTimeout)
		}
	}

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("dynalite output:\n%s", out)
				}
			})
			return "http://" + addr, nil
		}
		select {
		case err := <-exited:
			return "", &exitedError{err: err, output: out.String()}
		case <-deadline.C:
			stop()
			return "", fmt.Errorf("dynalite did not listen on %s within %v; output:\n%s", addr, startTimeout, out)
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
