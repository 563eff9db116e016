package notifytest

import (
	"bytes"
	"errors"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message a MailServer accepted.
type Mail struct {
	// From and To are the envelope (MAIL FROM, RCPT TO), not the headers.
	From string
	To   []string
	// Header is the message's header; Subject is its Subject, decoded.
	Header  mail.Header
	Subject string
	// Body is the body with its transfer encoding undone.
	Body string
}

// MailServer is a real SMTP server on 127.0.0.1 (github.com/emersion/go-smtp)
// that keeps every message it accepts, so tests can check what a mailer
// actually put on the wire. Messages are stored before the server answers
// the end of DATA, so once a send has returned, Mails includes it.
type MailServer struct {
	// Addr is the host:port to send to.
	Addr string

	username, password string

	mu    sync.Mutex
	mails []Mail
}

// MailServerOptions configure StartMailServer.
type MailServerOptions struct {
	// Username and Password, if Username is set, make the server require
	// AUTH PLAIN with them before it accepts mail.
	Username string
	Password string
}

// StartMailServer starts a MailServer that stops when t ends.
func StartMailServer(t testing.TB, opts MailServerOptions) *MailServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mail server: listen: %v", err)
	}
	ms := &MailServer{Addr: l.Addr().String(), username: opts.Username, password: opts.Password}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: ms}, nil
	}))
	srv.Domain = "localhost"
	// Clients authenticate over plain TCP: this server only ever listens on
	// the loopback interface.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		// Close tracks only listeners Serve has registered; if the test ends
		// before the Serve goroutine got that far, closing the listener
		// ourselves is what makes Serve return.
		l.Close()
		if err := <-served; err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("mail server: %v", err)
		}
	})
	return ms
}

// Mails returns the messages accepted so far, oldest first.
func (s *MailServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// session is one SMTP connection; it implements smtp.AuthSession.
type session struct {
	server *MailServer
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if s.server.username == "" || username != s.server.username || password != s.server.password {
			return errors.New("invalid username or password")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.username != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message: " + err.Error()}
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "undecodable body: " + err.Error()}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "undecodable subject: " + err.Error()}
	}
	m := Mail{
		From:    s.from,
		To:      append([]string(nil), s.to...),
		Header:  msg.Header,
		Subject: subject,
		// Wire line ends are CRLF; tests compare with Go strings.
		Body: strings.ReplaceAll(string(text), "\r\n", "\n"),
	}
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, m)
	s.server.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
