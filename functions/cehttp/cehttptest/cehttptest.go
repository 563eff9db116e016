// Package cehttptest is a CloudEvents HTTP endpoint for tests: the
// CloudEvents SDK's own receiver, standing for a broker or a K_SINK.
package cehttptest

import (
	"context"
	"net"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
)

// Receiver listens on 127.0.0.1 with the SDK's HTTP receiver until t ends.
// It returns its URL and a copy of the events received so far, in order.
func Receiver(t testing.TB) (url string, received func() []event.Event) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := cloudevents.NewHTTP(cloudevents.WithListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cloudevents.NewClient(p)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []event.Event
	)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		_ = c.StartReceiver(ctx, func(e event.Event) {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		})
	}()
	return "http://" + ln.Addr().String(), func() []event.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]event.Event(nil), got...)
	}
}
