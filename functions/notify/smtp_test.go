package notify_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/auctionflow/auction/functions/notify"
	"github.com/auctionflow/auction/functions/notify/notifytest"
)

func TestMessageID(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{"item-1/ada/won", "<item-1/ada/won@auction>"},
		{"a.b c%d", "<a%2Eb%20c%25d@auction>"},
		{"x<y>@z", "<x%3Cy%3E%40z@auction>"},
		{"line\r\nBcc: eve@example.com", "<line%0D%0ABcc%3A%20eve%40example%2Ecom@auction>"},
		{"ünï", "<%C3%BCn%C3%AF@auction>"},
	}
	for _, tt := range tests {
		if got := notify.MessageID(tt.id); got != tt.want {
			t.Errorf("MessageID(%q): got %q, want %q", tt.id, got, tt.want)
		}
	}
}

// TestSMTPMailerEncoding: a subject and body outside ASCII arrive intact,
// and a subject cannot smuggle in a header.
func TestSMTPMailerEncoding(t *testing.T) {
	ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	m := notify.SMTPMailer{Addr: ms.Addr, From: "Zoë's Auctions <noreply@auction.example>"}
	subject := "Sold: Zürich clock\r\nBcc: eve@example.com"
	body := "Hello Zoë,\n\nA line long enough to need a soft break in quoted-printable, " + strings.Repeat("la ", 40) + "end.\n.\nA lone dot above.\n"
	if err := m.Send(t.Context(), "ada@example.com", subject, body, "item-1/ada/won"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mails := ms.Mails()
	if len(mails) != 1 {
		t.Fatalf("emails: got %d, want 1", len(mails))
	}
	got := mails[0]
	if got.Subject != subject {
		t.Errorf("subject: got %q, want %q", got.Subject, subject)
	}
	if got.Header.Get("Bcc") != "" {
		t.Errorf("Bcc header: got %q, want none", got.Header.Get("Bcc"))
	}
	if got.Body != body {
		t.Errorf("body:\ngot  %q\nwant %q", got.Body, body)
	}
	if from, err := got.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Zoë's Auctions" || from[0].Address != "noreply@auction.example" {
		t.Errorf("From: got %v, %v; want Zoë's Auctions <noreply@auction.example>", from, err)
	}
	if _, err := time.Parse(time.RFC1123Z, got.Header.Get("Date")); err != nil {
		t.Errorf("Date: %v", err)
	}
}

func TestSMTPMailerAuth(t *testing.T) {
	ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{Username: "notify", Password: "s3cret"})
	tests := []struct {
		name, username, password string
		wantSent                 bool
	}{
		{"right password", "notify", "s3cret", true},
		{"wrong password", "notify", "guess", false},
		{"no credentials", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ms.Mails())
			m := notify.SMTPMailer{Addr: ms.Addr, From: "noreply@auction.example", Username: tt.username, Password: tt.password}
			err := m.Send(t.Context(), "ada@example.com", "Hi", "Hello", "id-"+tt.name)
			if gotSent := err == nil; gotSent != tt.wantSent {
				t.Fatalf("Send: got error %v, want sent=%v", err, tt.wantSent)
			}
			if got, want := len(ms.Mails())-before, map[bool]int{true: 1, false: 0}[tt.wantSent]; got != want {
				t.Errorf("emails accepted: got %d, want %d", got, want)
			}
		})
	}
}

// TestSMTPMailerHonoursContext: a server that accepts the connection and
// never answers does not hold Send past the caller's deadline.
func TestSMTPMailerHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	m := notify.SMTPMailer{Addr: l.Addr().String(), From: "noreply@auction.example"}
	err = m.Send(ctx, "ada@example.com", "Hi", "Hello", "id")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send: got %v, want %v", err, context.DeadlineExceeded)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send took %v, want about the 200ms deadline", took)
	}
}

func TestSMTPMailerBadAddresses(t *testing.T) {
	ms := notifytest.StartMailServer(t, notifytest.MailServerOptions{})
	tests := []struct{ name, from, to string }{
		{"bad recipient", "noreply@auction.example", "not an address"},
		{"recipient with a header", "noreply@auction.example", "ada@example.com\r\nBcc: eve@example.com"},
		{"bad sender", "", "ada@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notify.SMTPMailer{Addr: ms.Addr, From: tt.from}
			if err := m.Send(t.Context(), tt.to, "Hi", "Hello", "id"); err == nil {
				t.Errorf("Send to %q from %q: got nil error, want one", tt.to, tt.from)
			}
		})
	}
	if got := len(ms.Mails()); got != 0 {
		t.Errorf("emails accepted: got %d, want 0", got)
	}
}
