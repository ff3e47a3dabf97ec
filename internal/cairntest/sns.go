package cairntest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cairn-dev/cairn/internal/notify"
)

// SNSEndpoint is an HTTPS subscriber as SNS users write one: it checks the SNS headers,
// downloads the certificate from SigningCertURL (only from the cairn it trusts), verifies each
// message's signature and confirms subscriptions by visiting SubscribeURL.
type SNSEndpoint struct {
	t      testing.TB
	Server *httptest.Server
	URL    string // the subscription endpoint
	CAFile string // the server's certificate, for cairn serve --sns-endpoint-ca
	// CairnHost is the only host certificates are fetched from; set before messages arrive.
	CairnHost string
	// Status, when set, is the HTTP status the endpoint answers (default 200).
	Status atomic.Int32

	mu       sync.Mutex
	messages []*notify.Message
	errs     []error
	arrived  chan struct{}
}

// NewSNSEndpoint starts an HTTPS endpoint on loopback.
func NewSNSEndpoint(t testing.TB) *SNSEndpoint {
	e := &SNSEndpoint{t: t, arrived: make(chan struct{}, 1000)}
	e.Server = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Server.Close)
	e.URL = e.Server.URL + "/sns/hook"
	e.CAFile = filepath.Join(t.TempDir(), "endpoint-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Server.Certificate().Raw})
	if err := os.WriteFile(e.CAFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *SNSEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m, err := e.check(r, body)
	e.mu.Lock()
	if err != nil {
		e.errs = append(e.errs, err)
	} else {
		e.messages = append(e.messages, m)
	}
	e.mu.Unlock()
	select {
	case e.arrived <- struct{}{}:
	default:
	}
	if s := e.Status.Load(); s != 0 {
		w.WriteHeader(int(s))
	}
}

func (e *SNSEndpoint) check(r *http.Request, body []byte) (*notify.Message, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/sns/hook" {
		return nil, fmt.Errorf("%s %s, want POST /sns/hook", r.Method, r.URL.Path)
	}
	if ua := r.UserAgent(); ua != "Amazon Simple Notification Service Agent" {
		return nil, fmt.Errorf("User-Agent %q", ua)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		return nil, fmt.Errorf("Content-Type %q", ct)
	}
	m, err := notify.ParseMessage(body)
	if err != nil {
		return nil, err
	}
	if h := r.Header.Get("x-amz-sns-message-type"); h != m.Type {
		return nil, fmt.Errorf("x-amz-sns-message-type %q, body Type %q", h, m.Type)
	}
	if h := r.Header.Get("x-amz-sns-message-id"); h != m.MessageID {
		return nil, fmt.Errorf("x-amz-sns-message-id %q, body %q", h, m.MessageID)
	}
	if h := r.Header.Get("x-amz-sns-topic-arn"); h != m.TopicArn {
		return nil, fmt.Errorf("x-amz-sns-topic-arn %q, body %q", h, m.TopicArn)
	}
	if sub := r.Header.Get("x-amz-sns-subscription-arn"); (m.Type == notify.TypeSubscriptionConfirmation) != (sub == "") {
		return nil, fmt.Errorf("x-amz-sns-subscription-arn %q on a %s", sub, m.Type)
	}
	cert, err := e.fetchCert(m.SigningCertURL)
	if err != nil {
		return nil, err
	}
	if err := notify.Verify(m, cert); err != nil {
		return nil, fmt.Errorf("signature of %s %s: %w", m.Type, m.MessageID, err)
	}
	if m.Type == notify.TypeSubscriptionConfirmation {
		if err := e.visit(m.SubscribeURL); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (e *SNSEndpoint) fetchCert(certURL string) (*x509.Certificate, error) {
	u, err := url.Parse(certURL)
	if err != nil || u.Host != e.CairnHost || !strings.HasSuffix(u.Path, ".pem") {
		return nil, fmt.Errorf("SigningCertURL %q is not cairn's (%s)", certURL, e.CairnHost)
	}
	resp, err := http.Get(certURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	blk, _ := pem.Decode(b)
	if resp.StatusCode != 200 || blk == nil {
		return nil, fmt.Errorf("GET %s: %d %q", certURL, resp.StatusCode, b)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func (e *SNSEndpoint) visit(link string) error {
	u, err := url.Parse(link)
	if err != nil || u.Host != e.CairnHost {
		return fmt.Errorf("link %q is not cairn's", link)
	}
	resp, err := http.Get(link)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<SubscriptionArn>")) && !bytes.Contains(b, []byte("UnsubscribeResponse")) {
		return fmt.Errorf("GET %s: %d %s", link, resp.StatusCode, b)
	}
	return nil
}

// Messages returns the verified messages so far, failing the test on any rejected one.
func (e *SNSEndpoint) Messages() []*notify.Message {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.errs {
		e.t.Errorf("SNS endpoint rejected a request: %v", err)
	}
	e.errs = nil
	return append([]*notify.Message(nil), e.messages...)
}

// Await waits for a verified message of type typ that satisfies match.
func (e *SNSEndpoint) Await(typ string, match func(*notify.Message) bool) *notify.Message {
	e.t.Helper()
	var found *notify.Message
	WaitFor(e.t, 60*time.Second, "an SNS "+typ+" at the endpoint", func() bool {
		for _, m := range e.Messages() {
			if m.Type == typ && (match == nil || match(m)) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// Mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps what it receives.
type Mailbox struct {
	Addr string
	mu   sync.Mutex
	mail []Mail
}

// Mail is one received message, decoded.
type Mail struct {
	From, To, Subject, Body string
	Header                  mail.Header
}

// NewMailbox starts an SMTP server.
func NewMailbox(t testing.TB) *Mailbox {
	mb := &Mailbox{}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// NewSession implements smtp.Backend.
func (mb *Mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }

type mailSession struct {
	mb       *Mailbox
	from, to string
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = to; return nil }
func (s *mailSession) Reset()                                      {}
func (s *mailSession) Logout() error                               { return nil }
func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	s.mb.mu.Lock()
	s.mb.mail = append(s.mb.mail, Mail{From: s.from, To: s.to, Subject: subject, Body: strings.ReplaceAll(string(b), "\r\n", "\n"), Header: msg.Header})
	s.mb.mu.Unlock()
	return nil
}

// Await waits for a mail to `to` whose subject contains subject.
func (mb *Mailbox) Await(t testing.TB, to, subject string) Mail {
	t.Helper()
	var found Mail
	WaitFor(t, 60*time.Second, "mail to "+to+" with subject "+subject, func() bool {
		mb.mu.Lock()
		defer mb.mu.Unlock()
		for _, m := range mb.mail {
			if m.To == to && strings.Contains(m.Subject, subject) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}
