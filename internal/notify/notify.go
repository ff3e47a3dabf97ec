// Package notify is cairn's SNS: topics, subscriptions and the delivery of messages to HTTP(S)
// endpoints (signed as SNS signs them) and to email addresses through an SMTP server.
//
// Topics and subscriptions live in meta.sqlite. A Publish is accepted only once a delivery row
// per confirmed subscription is committed there (synchronous=FULL), so an accepted message
// survives a crash; a background loop delivers due rows and retries them under the
// subscription's delivery policy. Delivery is at least once: a crash mid-delivery redelivers
// the same MessageId, as SNS does.
package notify

import (
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind classifies a user error; internal/api maps it to SNS's error code.
type Kind int

const (
	InvalidParameter Kind = iota
	NotFound
	AuthorizationError
	ResourceNotFound // tagging's not-found
	TagLimitExceeded
)

// Error is an error the caller can fix, worded as SNS words it.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Code is SNS's error code for e.
func (e *Error) Code() string {
	switch e.Kind {
	case NotFound:
		return "NotFound"
	case AuthorizationError:
		return "AuthorizationError"
	case ResourceNotFound:
		return "ResourceNotFound"
	case TagLimitExceeded:
		return "TagLimitExceeded"
	}
	return "InvalidParameter"
}

func invalid(format string, args ...any) error {
	return &Error{Kind: InvalidParameter, Message: "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

var (
	errTopicNotFound = &Error{Kind: NotFound, Message: "Topic does not exist"}
	errSubNotFound   = &Error{Kind: NotFound, Message: "Subscription does not exist"}

	errResourceNotFound = &Error{Kind: ResourceNotFound, Message: "Resource does not exist"}
)

// TokenValidity is how long a confirmation token works, as on SNS.
const TokenValidity = 48 * time.Hour

// PageSize is how many topics or subscriptions one List call returns.
const PageSize = 100

// MaxMessageBytes is SNS's limit on a message.
const MaxMessageBytes = 256 * 1024

// Subscription statuses.
const (
	statusPending   = "pending"
	statusConfirmed = "confirmed"
	statusDeleted   = "deleted"
)

// PendingConfirmation is what lists show as the ARN of an unconfirmed subscription.
const PendingConfirmation = "PendingConfirmation"

// Options configure a Service.
type Options struct {
	DB     *sql.DB
	Signer *Signer
	// PublicURL is where endpoints reach cairn: the base of SigningCertURL, SubscribeURL and
	// UnsubscribeURL, e.g. https://cairn.example.com.
	PublicURL string
	// Mailer sends email and email-json deliveries; nil rejects those protocols.
	Mailer Mailer
	// HTTPClient posts to http(s) endpoints; its timeout should be SNS's 15 s.
	HTTPClient  *http.Client
	Concurrency int // deliveries in flight at once; default 16
	Now         func() time.Time
	Logger      *slog.Logger
	Registry    prometheus.Registerer
}

// Service owns topics, subscriptions and delivery.
type Service struct {
	db      *sql.DB
	signer  *Signer
	base    string
	mailer  Mailer
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	slots   int
	metrics *metrics

	wake     chan struct{}
	mu       sync.Mutex
	inflight map[int64]bool    // rows being delivered or waiting for their outcome's commit
	outcomes []outcome         // finished attempts not yet committed
	finished chan struct{}     // an attempt finished
	sigs     map[string]string // recent signatures by string to sign
	wg       sync.WaitGroup
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	// SNS treats a redirect as a failed delivery; it does not follow it.
	c := *o.HTTPClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	s := &Service{db: o.DB, signer: o.Signer, base: strings.TrimRight(o.PublicURL, "/"), mailer: o.Mailer, client: &c,
		now: o.Now, log: o.Logger, slots: o.Concurrency, wake: make(chan struct{}, 1), finished: make(chan struct{}, 1), inflight: map[int64]bool{}, sigs: map[string]string{}}
	s.metrics = newMetrics(o.Registry, s)
	return s
}

// CertPath is the URL path the signing certificate is served at.
func (s *Service) CertPath() string { return "/" + s.signer.CertName }

// CertPEM is the signing certificate, PEM-encoded.
func (s *Service) CertPEM() []byte { return s.signer.CertPEM }

// SigningCertURL is the URL in every message's SigningCertURL.
func (s *Service) SigningCertURL() string { return s.base + s.CertPath() }

func (s *Service) subscribeURL(topicARN, token string) string {
	return s.base + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(topicARN) + "&Token=" + token
}

func (s *Service) unsubscribeURL(subARN string) string {
	return s.base + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(subARN)
}

// Caller is who makes an API call: topics are per account and region.
type Caller struct {
	Account string
	Region  string
	ARN     string // the principal, for AuthorizationError messages
}

// ARN is a parsed SNS topic ARN.
type ARN struct{ Region, Account, Name string }

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// ParseTopicARN splits arn:aws:sns:<region>:<account>:<name>.
func ParseTopicARN(s string) (ARN, bool) {
	p := strings.Split(s, ":")
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] != "sns" || p[3] == "" || len(p[4]) != 12 || !topicName.MatchString(p[5]) {
		return ARN{}, false
	}
	return ARN{Region: p[3], Account: p[4], Name: p[5]}, true
}

func topicARN(c Caller, name string) string {
	return "arn:aws:sns:" + c.Region + ":" + c.Account + ":" + name
}

// authorize checks that c may act on a topic: topics are private to their account, as under
// SNS's default topic policy.
func authorize(c *Caller, arn, member, action string) (ARN, error) {
	a, ok := ParseTopicARN(arn)
	if !ok {
		return a, invalid("%s", member)
	}
	if c == nil {
		return a, nil
	}
	if a.Account != c.Account {
		return a, &Error{Kind: AuthorizationError, Message: fmt.Sprintf("User: %s is not authorized to perform: SNS:%s on resource: %s", c.ARN, action, arn)}
	}
	if a.Region != c.Region {
		return a, invalid("%s Reason: the topic is in %s, the request was signed for %s", member, a.Region, c.Region)
	}
	return a, nil
}
