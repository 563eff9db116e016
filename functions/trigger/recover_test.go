package trigger_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/trigger"
)

// TestRecover: a panicking handler's call returns the panic as its error
// and logs its stack. Without Recover, the panic would end the test binary.
func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	mw := trigger.Recover(slog.New(slog.NewJSONHandler(&logs, nil)))
	var m map[string]int
	panicking := func(context.Context, []trigger.Record) error {
		m["bid"]++ // a nil map
		return nil
	}
	err := mw(panicking)(context.Background(), batchOf(1, time.Now()))
	if err == nil || !strings.HasPrefix(err.Error(), "handler panicked: assignment to entry in nil map") {
		t.Errorf("error: got %v, want the panic", err)
	}
	for _, want := range []string{`"msg":"handler panicked"`, "recover_test.go"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log: got %s, want it to hold %s (the stack of the panic)", logs.String(), want)
		}
	}

	// Calls that do not panic are left as they are.
	errBoom := errors.New("boom")
	for _, want := range []error{nil, errBoom} {
		h := func(context.Context, []trigger.Record) error { return want }
		if got := mw(h)(context.Background(), batchOf(1, time.Now())); got != want {
			t.Errorf("error of a call that returns %v: got %v", want, got)
		}
	}
}
