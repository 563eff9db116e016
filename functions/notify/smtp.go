package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/auctionflow/auction/internal/telemetry"
)

// MessageIDDomain is the right-hand side of the Message-ID of every email
// the notifier sends.
const MessageIDDomain = "auction"

// MessageID is the Message-ID header value of the email for notification id:
// "<id@auction>", with any character a message id may not hold
// percent-encoded. It depends on id alone, so a resend of a notification
// carries the Message-ID of the first send, which is how a mail client (or
// a person reading headers) recognises the duplicate.
func MessageID(id string) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, c := range []byte(id) {
		// RFC 5322 atext, less '%' (the escape) and without '.', whose
		// placement rules are not worth checking.
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&'*+-/=?^_`{|}~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	b.WriteString("@" + MessageIDDomain + ">")
	return b.String()
}

// sendTimeout bounds one Send when ctx has no earlier deadline: a mail
// server that accepts the connection and then says nothing must not hold a
// partition forever.
const sendTimeout = 30 * time.Second

// SMTPMailer sends email through an SMTP server with net/smtp: the compose
// mode's mail catcher, or a real relay. It opens one connection per email,
// which is simple and, at the rate auctions close, cheap enough; it is safe
// for concurrent use.
type SMTPMailer struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender, as an address with or without a display name
	// ("Auction <noreply@auction.example>").
	From string
	// Username and Password, if Username is set, authenticate with PLAIN.
	// net/smtp sends them only over TLS or to localhost.
	Username string
	Password string
	// TLS, if set, makes the mailer upgrade the connection with STARTTLS
	// and refuse a server that does not offer it. Nil sends in the clear,
	// which is right only for a local mail catcher. An empty ServerName is
	// taken from Addr.
	TLS *tls.Config
}

var _ Mailer = SMTPMailer{}

// Send sends one plain-text email to the address to. The SMTP session is a
// client span of the notification's trace.
func (m SMTPMailer) Send(ctx context.Context, to, subject, body, messageID string) (err error) {
	ctx, span := telemetry.Tracer().Start(ctx, "smtp send", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("server.address", m.Addr), attribute.String("email.message_id", messageID)))
	defer func() { telemetry.End(span, err) }()
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("send email: sender %q: %w", m.From, err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		// The address came from the directory; name the error, not the
		// address, which is personal data.
		return fmt.Errorf("send email %s: recipient: %w", messageID, err)
	}
	msg, err := compose(from, rcpt, subject, body, messageID, time.Now())
	if err != nil {
		return fmt.Errorf("send email %s: %w", messageID, err)
	}
	if err := m.deliver(ctx, from.Address, rcpt.Address, msg); err != nil {
		return fmt.Errorf("send email %s via %s: %w", messageID, m.Addr, err)
	}
	return nil
}

// deliver runs one SMTP session. net/smtp takes no context, so ctx is
// brought to bear through the connection's deadline: when ctx ends, any
// read or write in progress fails at once.
func (m SMTPMailer) deliver(ctx context.Context, from, to string, msg []byte) (err error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	defer func() {
		// A timeout caused by ctx is reported as ctx's error, which says
		// why.
		if err != nil && ctx.Err() != nil {
			err = errors.Join(context.Cause(ctx), err)
		}
	}()
	// Only ever through ctx, not also from its deadline: then an I/O error
	// caused by it always comes after ctx.Err() is set, and is reported so.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if m.TLS != nil {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("server does not offer STARTTLS")
		}
		cfg := m.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// Closing the data writer waits for the server's verdict on the
	// message; once it is positive, the server has taken responsibility.
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	// The message is accepted; a failed goodbye does not unsend it.
	_ = c.Quit()
	return nil
}

// compose builds the message: headers, then the body as quoted-printable
// UTF-8, so any title survives any relay.
func compose(from, to *mail.Address, subject, body, messageID string, date time.Time) ([]byte, error) {
	if messageID == "" {
		return nil, errors.New("no message id")
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	// Q-encoding also encodes CR and LF, so a subject cannot add headers.
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", MessageID(messageID))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MailerFor is smtp, or, when it names no server (Addr empty), a mailer
// that only logs each email: the inbox still gets every notification.
func MailerFor(smtp SMTPMailer, log *slog.Logger) Mailer {
	if smtp.Addr == "" {
		return logMailer{log}
	}
	return &smtp
}

type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, to, subject, _, messageID string) error {
	m.log.InfoContext(ctx, "email not sent (no AUCTION_SMTP_ADDR)", "to", to, "subject", subject, "message_id", messageID)
	return nil
}
