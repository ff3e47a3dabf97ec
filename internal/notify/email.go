package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Mail is one message for an email or email-json subscriber.
type Mail struct {
	FromName string // the topic's DisplayName, or "AWS Notifications"
	To       string
	Subject  string
	Body     string
}

// Mailer sends mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// emailFooter is SNS's footer on email notifications (SNS adds a support link, which would
// point at AWS; cairn leaves it out).
const emailFooter = "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n%s\n\nPlease do not reply directly to this email."

// composeMail builds what an email or email-json subscriber receives for d.
func (s *Service) composeMail(sub *subscription, t *topic, d delivery) (Mail, error) {
	m := Mail{FromName: t.attrs["DisplayName"], To: sub.Endpoint}
	if m.FromName == "" {
		m.FromName = "AWS Notifications"
	}
	if sub.Protocol == "email-json" {
		msg, err := s.message(sub, d)
		if err != nil {
			return m, err
		}
		m.Body = string(msg.Marshal())
	}
	switch d.typ {
	case TypeSubscriptionConfirmation:
		m.Subject = "AWS Notification - Subscription Confirmation"
		if sub.Protocol == "email" {
			m.Body = "You have chosen to subscribe to the topic: \n" + d.topic +
				"\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n" +
				s.subscribeURL(d.topic, d.token) + "\n\nPlease do not reply directly to this email."
		}
	case TypeUnsubscribeConfirmation:
		m.Subject = "AWS Notification - Unsubscribe Confirmation"
	default:
		m.Subject = d.subject
		if m.Subject == "" {
			m.Subject = "AWS Notification Message"
		}
		if sub.Protocol == "email" {
			m.Body = d.message + fmt.Sprintf(emailFooter, s.unsubscribeURL(sub.ARN))
		}
	}
	return m, nil
}

func (s *Service) sendMail(ctx context.Context, sub *subscription, t *topic, d delivery) (string, error) {
	if s.mailer == nil {
		return "", permanent{errors.New("no SMTP server configured (cairn serve --smtp-addr)")}
	}
	m, err := s.composeMail(sub, t, d)
	if err != nil {
		return "", permanent{err}
	}
	if err := s.mailer.Send(ctx, m); err != nil {
		return "", err
	}
	return "sent to " + sub.Endpoint, nil
}

// SMTP sends mail through an SMTP server.
type SMTP struct {
	Addr     string // host:port
	From     string // envelope and header sender address
	Username string // with Password: AUTH PLAIN, which net/smtp allows only over TLS or to localhost
	Password string
	// StartTLS requires STARTTLS; without it, STARTTLS is still used when the server offers it.
	StartTLS  bool
	TLSConfig *tls.Config
	Timeout   time.Duration
	Now       func() time.Time
}

// Render renders m as an RFC 5322 message: UTF-8 text, quoted-printable so that long lines
// (email-json bodies) stay within SMTP's line limit.
func (c *SMTP) Render(m Mail, now time.Time) []byte {
	var b bytes.Buffer
	from := mime.QEncoding.Encode("utf-8", m.FromName)
	fmt.Fprintf(&b, "From: %s <%s>\r\n", from, c.From)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	host := c.From[strings.LastIndexByte(c.From, '@')+1:]
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", uuid.NewString(), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// Send implements Mailer. A 5xx reply from the server is permanent; anything else is retried.
func (c *SMTP) Send(ctx context.Context, m Mail) error {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", c.Addr, err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(c.Addr)
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpErr(err)
	}
	defer cl.Close()
	if ok, _ := cl.Extension("STARTTLS"); ok {
		cfg := c.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := cl.StartTLS(cfg); err != nil {
			return smtpErr(err)
		}
	} else if c.StartTLS {
		return permanent{fmt.Errorf("smtp %s does not offer STARTTLS, which --smtp-starttls requires", c.Addr)}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, host)); err != nil {
			return smtpErr(err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return smtpErr(err)
	}
	if err := cl.Rcpt(m.To); err != nil {
		return smtpErr(err)
	}
	w, err := cl.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(c.Render(m, now())); err != nil {
		return smtpErr(err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	return cl.Quit()
}

func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanent{fmt.Errorf("smtp: %w", err)}
	}
	return fmt.Errorf("smtp: %w", err)
}
