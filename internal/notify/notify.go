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
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Kind classifies a user error; internal/api maps it to SNS's error code.
type Kind int

const (
	InvalidParameter Kind = iota
	NotFound
	AuthorizationError
)

// Error is an error the caller can fix, worded as SNS words it.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &Error{Kind: InvalidParameter, Message: "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

var (
	errTopicNotFound = &Error{Kind: NotFound, Message: "Topic does not exist"}
	errSubNotFound   = &Error{Kind: NotFound, Message: "Subscription does not exist"}
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

// Topic attributes a user can set, and what cairn accepts for each.
var settableTopicAttributes = map[string]bool{
	"DisplayName": true, "Policy": true, "DeliveryPolicy": true, "SignatureVersion": true,
	"TracingConfig": true, "KmsMasterKeyId": true, "DataProtectionPolicy": true,
}

func validateTopicAttribute(name, value string) error {
	switch name {
	case "DisplayName":
		if len(value) > 100 {
			return invalid("DisplayName Reason: must be at most 100 characters")
		}
	case "Policy", "DataProtectionPolicy":
		if value != "" && !json.Valid([]byte(value)) {
			return invalid("%s Reason: not a JSON document", name)
		}
	case "DeliveryPolicy":
		if value == "" {
			return nil
		}
		var tp topicDeliveryPolicy
		if err := json.Unmarshal([]byte(value), &tp); err != nil {
			return invalid("DeliveryPolicy Reason: %v", err)
		}
		if tp.HTTP != nil {
			if _, err := parseRetryPolicy(tp.HTTP.DefaultHealthyRetryPolicy); err != nil {
				return invalid("DeliveryPolicy Reason: %v", err)
			}
		}
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return invalid("SignatureVersion Reason: must be 1 or 2")
		}
	case "TracingConfig":
		if value != "PassThrough" && value != "Active" {
			return invalid("TracingConfig Reason: must be PassThrough or Active")
		}
	case "KmsMasterKeyId":
	case "FifoTopic", "ContentBasedDeduplication", "FifoThroughputScope", "ArchivePolicy":
		if value == "false" || value == "" {
			return nil
		}
		return invalid("%s Reason: FIFO topics are not supported by cairn", name)
	default:
		return invalid("AttributeName Reason: unknown topic attribute %q", name)
	}
	return nil
}

// CreateTopic creates a topic, or returns the existing one of that name when its attributes
// and tags are the same (CreateTopic is idempotent).
func (s *Service) CreateTopic(ctx context.Context, c Caller, name string, attrs, tags map[string]string) (string, error) {
	if strings.HasSuffix(name, ".fifo") {
		return "", invalid("Name Reason: FIFO topics are not supported by cairn")
	}
	if !topicName.MatchString(name) {
		return "", invalid("Topic Name")
	}
	stored := map[string]string{}
	for k, v := range attrs {
		if err := validateTopicAttribute(k, v); err != nil {
			return "", err
		}
		if settableTopicAttributes[k] && v != "" {
			stored[k] = v
		}
	}
	if len(tags) > 50 {
		return "", invalid("Tags Reason: at most 50 tags")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return "", invalid("Tags Reason: keys are 1 to 128 characters, values at most 256")
		}
	}
	if tags == nil {
		tags = map[string]string{}
	}
	arn := topicARN(c, name)
	ab, _ := json.Marshal(stored)
	tb, _ := json.Marshal(tags)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	var oldA, oldT string
	err = tx.QueryRowContext(ctx, `SELECT attributes, tags FROM sns_topics WHERE arn = ?`, arn).Scan(&oldA, &oldT)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO sns_topics (arn, account_id, region, name, attributes, tags, created_at) VALUES (?,?,?,?,?,?,?)`,
			arn, c.Account, c.Region, name, string(ab), string(tb), s.now().UTC().Format(time.RFC3339)); err != nil {
			return "", fmt.Errorf("create topic %s: %w", arn, err)
		}
	case err != nil:
		return "", fmt.Errorf("read topic %s: %w", arn, err)
	default:
		var old map[string]string
		json.Unmarshal([]byte(oldA), &old)
		for k, v := range stored {
			if old[k] != v {
				return "", invalid("Attributes Reason: Topic already exists with different attributes")
			}
		}
		var oldTags map[string]string
		json.Unmarshal([]byte(oldT), &oldTags)
		if len(tags) > 0 && !maps.Equal(oldTags, tags) {
			return "", invalid("Tags Reason: Topic already exists with different tags")
		}
		return arn, nil
	}
	return arn, tx.Commit()
}

// DeleteTopic deletes a topic, its subscriptions and its undelivered messages. Deleting a
// topic that does not exist succeeds, as on SNS.
func (s *Service) DeleteTopic(ctx context.Context, c Caller, arn string) error {
	if _, err := authorize(&c, arn, "TopicArn", "DeleteTopic"); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sns_deliveries WHERE topic_arn = ?`, arn); err != nil {
		return fmt.Errorf("delete topic %s: %w", arn, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sns_topics WHERE arn = ?`, arn); err != nil {
		return fmt.Errorf("delete topic %s: %w", arn, err)
	}
	return tx.Commit()
}

// pageToken is an opaque NextToken: the last ARN returned.
func pageToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func parsePageToken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(b), "arn:aws:sns:") {
		return "", invalid("NextToken")
	}
	return string(b), nil
}

// ListTopics lists the caller's topics in its region, PageSize at a time.
func (s *Service) ListTopics(ctx context.Context, c Caller, token string) ([]string, string, error) {
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT arn FROM sns_topics WHERE account_id = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?`,
		c.Account, c.Region, after, PageSize+1)
	if err != nil {
		return nil, "", fmt.Errorf("list topics: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > PageSize {
		out = out[:PageSize]
		next = pageToken(out[PageSize-1])
	}
	return out, next, nil
}

type topic struct {
	arn, account string
	attrs        map[string]string
	tags         map[string]string
	subsDeleted  int
}

func (s *Service) topic(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, arn string) (*topic, error) {
	t := &topic{arn: arn}
	var a, tg string
	err := q.QueryRowContext(ctx, `SELECT account_id, attributes, tags, subs_deleted FROM sns_topics WHERE arn = ?`, arn).Scan(&t.account, &a, &tg, &t.subsDeleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errTopicNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read topic %s: %w", arn, err)
	}
	json.Unmarshal([]byte(a), &t.attrs)
	json.Unmarshal([]byte(tg), &t.tags)
	if t.attrs == nil {
		t.attrs = map[string]string{}
	}
	return t, nil
}

// defaultPolicy is the access policy SNS gives a new topic.
func defaultPolicy(arn, account string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"` +
		arn + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + account + `"}}}]}`
}

// effectiveDeliveryPolicy renders the topic's http delivery policy with SNS's defaults filled in.
func effectiveDeliveryPolicy(topicAttr string) string {
	p, ct := effectivePolicy(topicAttr, "")
	disable := false
	var tp topicDeliveryPolicy
	if json.Unmarshal([]byte(topicAttr), &tp) == nil && tp.HTTP != nil {
		disable = tp.HTTP.DisableSubscriptionOverrides
	}
	b, _ := json.Marshal(map[string]any{"http": map[string]any{
		"defaultHealthyRetryPolicy": p, "disableSubscriptionOverrides": disable,
		"defaultRequestPolicy": map[string]string{"headerContentType": ct},
	}})
	return string(b)
}

// TopicAttributes returns every attribute GetTopicAttributes reports.
func (s *Service) TopicAttributes(ctx context.Context, c Caller, arn string) (map[string]string, error) {
	if _, err := authorize(&c, arn, "TopicArn", "GetTopicAttributes"); err != nil {
		return nil, err
	}
	t, err := s.topic(ctx, s.db, arn)
	if err != nil {
		return nil, err
	}
	var confirmed, pending int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(status = 'confirmed'),0), COALESCE(SUM(status = 'pending'),0) FROM sns_subscriptions WHERE topic_arn = ?`, arn).Scan(&confirmed, &pending); err != nil {
		return nil, fmt.Errorf("count subscriptions of %s: %w", arn, err)
	}
	out := map[string]string{
		"TopicArn": arn, "Owner": t.account, "DisplayName": t.attrs["DisplayName"],
		"Policy":                  defaultPolicy(arn, t.account),
		"SubscriptionsConfirmed":  fmt.Sprint(confirmed),
		"SubscriptionsPending":    fmt.Sprint(pending),
		"SubscriptionsDeleted":    fmt.Sprint(t.subsDeleted),
		"EffectiveDeliveryPolicy": effectiveDeliveryPolicy(t.attrs["DeliveryPolicy"]),
	}
	for k, v := range t.attrs {
		out[k] = v
	}
	return out, nil
}

// SetTopicAttribute sets one topic attribute; an empty value resets it.
func (s *Service) SetTopicAttribute(ctx context.Context, c Caller, arn, name, value string) error {
	if _, err := authorize(&c, arn, "TopicArn", "SetTopicAttributes"); err != nil {
		return err
	}
	if !settableTopicAttributes[name] {
		if err := validateTopicAttribute(name, value); err != nil {
			return err
		}
		return invalid("AttributeName Reason: %s cannot be changed", name)
	}
	if err := validateTopicAttribute(name, value); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t, err := s.topic(ctx, tx, arn)
	if err != nil {
		return err
	}
	if value == "" {
		delete(t.attrs, name)
	} else {
		t.attrs[name] = value
	}
	b, _ := json.Marshal(t.attrs)
	if _, err := tx.ExecContext(ctx, `UPDATE sns_topics SET attributes = ? WHERE arn = ?`, string(b), arn); err != nil {
		return fmt.Errorf("set %s of %s: %w", name, arn, err)
	}
	return tx.Commit()
}

// Subscription is one subscription as the List operations show it.
type Subscription struct {
	ARN      string // PendingConfirmation while unconfirmed
	Owner    string
	Protocol string
	Endpoint string
	TopicARN string
}

var protocols = map[string]bool{"http": true, "https": true, "email": true, "email-json": true}

// validateEndpoint checks that endpoint suits protocol, as SNS's Subscribe does.
func (s *Service) validateEndpoint(protocol, endpoint string) error {
	switch protocol {
	case "http", "https":
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return invalid("Endpoint Reason: must be an absolute %s:// URL", protocol)
		}
	case "email", "email-json":
		if s.mailer == nil {
			return invalid("Protocol Reason: %s needs an SMTP server (cairn serve --smtp-addr)", protocol)
		}
		if !validEmail(endpoint) {
			return invalid("Email address")
		}
	case "sqs", "lambda", "firehose", "application", "sms":
		return invalid("Protocol Reason: cairn does not deliver to %s", protocol)
	default:
		return invalid("Amazon SNS does not support this protocol string: %s", protocol)
	}
	return nil
}

func validEmail(e string) bool {
	at := strings.LastIndexByte(e, '@')
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n<>,;\"") && len(e) <= 254
}

var settableSubAttributes = map[string]bool{"DeliveryPolicy": true, "RawMessageDelivery": true}

func validateSubAttribute(protocol, name, value string) error {
	switch name {
	case "DeliveryPolicy":
		if protocol != "http" && protocol != "https" {
			return invalid("DeliveryPolicy: only http and https subscriptions have one")
		}
		if value == "" {
			return nil
		}
		var p deliveryPolicy
		if err := json.Unmarshal([]byte(value), &p); err != nil {
			return invalid("DeliveryPolicy Reason: %v", err)
		}
		if _, err := parseRetryPolicy(p.HealthyRetryPolicy); err != nil {
			return invalid("DeliveryPolicy Reason: %v", err)
		}
	case "RawMessageDelivery":
		if value != "true" && value != "false" {
			return invalid("RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
		}
		if value == "true" && protocol != "http" && protocol != "https" {
			return invalid("RawMessageDelivery Reason: only http and https subscriptions deliver raw messages in cairn")
		}
	case "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy":
		return invalid("Attributes Reason: %s is not supported by cairn", name)
	default:
		return invalid("AttributeName Reason: unknown subscription attribute %q", name)
	}
	return nil
}

func newToken() string {
	b := make([]byte, 64)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Subscribe subscribes endpoint to a topic. Every protocol cairn delivers to needs
// confirmation: the endpoint receives a SubscriptionConfirmation (or a mail with the link).
// Subscribing the same endpoint again returns the existing subscription and, while it is
// pending, sends the confirmation again.
func (s *Service) Subscribe(ctx context.Context, c Caller, arn, protocol, endpoint string, attrs map[string]string) (Subscription, bool, error) {
	if _, err := authorize(&c, arn, "TopicArn", "Subscribe"); err != nil {
		return Subscription{}, false, err
	}
	if err := s.validateEndpoint(protocol, endpoint); err != nil {
		return Subscription{}, false, err
	}
	stored := map[string]string{}
	for k, v := range attrs {
		if err := validateSubAttribute(protocol, k, v); err != nil {
			return Subscription{}, false, err
		}
		if v != "" {
			stored[k] = v
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Subscription{}, false, err
	}
	defer tx.Rollback()
	t, err := s.topic(ctx, tx, arn)
	if err != nil {
		return Subscription{}, false, err
	}
	now := s.now()
	sub := Subscription{Owner: c.Account, Protocol: protocol, Endpoint: endpoint, TopicARN: arn}
	var status, token string
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT arn, status, token, token_expires FROM sns_subscriptions WHERE topic_arn = ? AND protocol = ? AND endpoint = ?`,
		arn, protocol, endpoint).Scan(&sub.ARN, &status, &token, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		sub.ARN = arn + ":" + uuid.NewString()
		token = newToken()
		ab, _ := json.Marshal(stored)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sns_subscriptions (arn, topic_arn, owner, protocol, endpoint, status, token, token_expires, attributes, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			sub.ARN, arn, c.Account, protocol, endpoint, statusPending, token, now.Add(TokenValidity).UnixNano(), string(ab), now.UTC().Format(time.RFC3339)); err != nil {
			return Subscription{}, false, fmt.Errorf("subscribe %s: %w", endpoint, err)
		}
	case err != nil:
		return Subscription{}, false, fmt.Errorf("read subscriptions of %s: %w", arn, err)
	case status == statusConfirmed:
		return sub, true, nil
	default: // pending, or deleted and subscribed again: confirm anew
		if status == statusDeleted || expires < now.UnixNano() {
			token = newToken()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sns_subscriptions SET status = ?, token = ?, token_expires = ? WHERE arn = ?`,
			statusPending, token, now.Add(TokenValidity).UnixNano(), sub.ARN); err != nil {
			return Subscription{}, false, fmt.Errorf("subscribe %s: %w", endpoint, err)
		}
	}
	msg := "You have chosen to subscribe to the topic " + arn + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
	if err := s.enqueue(ctx, tx, delivery{sub: sub.ARN, topic: arn, typ: TypeSubscriptionConfirmation, id: uuid.NewString(),
		message: msg, token: token, sigVersion: t.attrs["SignatureVersion"], at: now}); err != nil {
		return Subscription{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return Subscription{}, false, err
	}
	s.kick()
	return sub, false, nil
}

// ConfirmSubscription confirms the subscription a token was sent for and returns its ARN. A
// token from an UnsubscribeConfirmation restores the subscription.
func (s *Service) ConfirmSubscription(ctx context.Context, c *Caller, arn, token string, authenticated bool) (string, error) {
	if _, err := authorize(c, arn, "TopicArn", "ConfirmSubscription"); err != nil {
		return "", err
	}
	if token == "" {
		return "", invalid("Token")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := s.topic(ctx, tx, arn); err != nil {
		return "", err
	}
	var sub, status string
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT arn, status, token_expires FROM sns_subscriptions WHERE topic_arn = ? AND token = ?`, arn, token).Scan(&sub, &status, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", invalid("Invalid token")
	}
	if err != nil {
		return "", fmt.Errorf("confirm subscription: %w", err)
	}
	if status == statusConfirmed {
		return sub, nil
	}
	if expires < s.now().UnixNano() {
		return "", invalid("Invalid token Reason: the token expired")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sns_subscriptions SET status = ?, authenticated = ? WHERE arn = ?`, statusConfirmed, authenticated, sub); err != nil {
		return "", fmt.Errorf("confirm subscription %s: %w", sub, err)
	}
	if status == statusDeleted {
		if _, err := tx.ExecContext(ctx, `UPDATE sns_topics SET subs_deleted = MAX(subs_deleted - 1, 0) WHERE arn = ?`, arn); err != nil {
			return "", err
		}
	}
	return sub, tx.Commit()
}

// Unsubscribe deletes a subscription. c is nil for the unauthenticated UnsubscribeURL, which
// a subscription confirmed with AuthenticateOnUnsubscribe refuses. HTTP(S) endpoints receive
// an UnsubscribeConfirmation whose SubscribeURL restores the subscription.
func (s *Service) Unsubscribe(ctx context.Context, c *Caller, subARN string) error {
	i := strings.LastIndexByte(subARN, ':')
	if i < 0 {
		return invalid("SubscriptionArn")
	}
	arn := subARN[:i]
	if _, err := authorize(c, arn, "SubscriptionArn", "Unsubscribe"); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var protocol, status string
	var authenticated bool
	err = tx.QueryRowContext(ctx, `SELECT protocol, status, authenticated FROM sns_subscriptions WHERE arn = ?`, subARN).Scan(&protocol, &status, &authenticated)
	if errors.Is(err, sql.ErrNoRows) || status == statusDeleted {
		return errSubNotFound
	}
	if err != nil {
		return fmt.Errorf("read subscription %s: %w", subARN, err)
	}
	if c == nil && authenticated {
		return &Error{Kind: AuthorizationError, Message: "This subscription requires an authenticated Unsubscribe call (AuthenticateOnUnsubscribe)."}
	}
	t, err := s.topic(ctx, tx, arn)
	if err != nil {
		return err
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sns_deliveries WHERE sub_arn = ?`, subARN); err != nil {
		return err
	}
	if status == statusPending || (protocol != "http" && protocol != "https") {
		_, err = tx.ExecContext(ctx, `DELETE FROM sns_subscriptions WHERE arn = ?`, subARN)
	} else {
		token := newToken()
		_, err = tx.ExecContext(ctx, `UPDATE sns_subscriptions SET status = ?, token = ?, token_expires = ? WHERE arn = ?`, statusDeleted, token, now.Add(TokenValidity).UnixNano(), subARN)
		if err == nil {
			msg := "You have chosen to deactivate subscription " + subARN + ".\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
			err = s.enqueue(ctx, tx, delivery{sub: subARN, topic: arn, typ: TypeUnsubscribeConfirmation, id: uuid.NewString(),
				message: msg, token: token, sigVersion: t.attrs["SignatureVersion"], at: now})
		}
	}
	if err != nil {
		return fmt.Errorf("unsubscribe %s: %w", subARN, err)
	}
	if status == statusConfirmed {
		if _, err := tx.ExecContext(ctx, `UPDATE sns_topics SET subs_deleted = subs_deleted + 1 WHERE arn = ?`, arn); err != nil {
			return err
		}
	}
	// Restore tokens expire; their rows go with them.
	if _, err := tx.ExecContext(ctx, `DELETE FROM sns_subscriptions WHERE status = ? AND token_expires < ?`, statusDeleted, now.UnixNano()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.kick()
	return nil
}

// ListSubscriptions lists the caller's subscriptions in its region, PageSize at a time; with
// topic set, the subscriptions of that topic.
func (s *Service) ListSubscriptions(ctx context.Context, c Caller, topic, token string) ([]Subscription, string, error) {
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT s.arn, s.owner, s.protocol, s.endpoint, s.topic_arn, s.status FROM sns_subscriptions s JOIN sns_topics t ON t.arn = s.topic_arn
		WHERE s.status != 'deleted' AND s.arn > ? AND `
	args := []any{after}
	if topic != "" {
		if _, err := authorize(&c, topic, "TopicArn", "ListSubscriptionsByTopic"); err != nil {
			return nil, "", err
		}
		if _, err := s.topic(ctx, s.db, topic); err != nil {
			return nil, "", err
		}
		q += `s.topic_arn = ?`
		args = append(args, topic)
	} else {
		q += `t.account_id = ? AND t.region = ?`
		args = append(args, c.Account, c.Region)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY s.arn LIMIT ?`, append(args, PageSize+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	var pending []bool
	for rows.Next() {
		var sub Subscription
		var status string
		if err := rows.Scan(&sub.ARN, &sub.Owner, &sub.Protocol, &sub.Endpoint, &sub.TopicARN, &status); err != nil {
			return nil, "", err
		}
		out = append(out, sub)
		pending = append(pending, status == statusPending)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > PageSize {
		out = out[:PageSize]
		next = pageToken(out[PageSize-1].ARN)
	}
	for i := range out {
		if pending[i] {
			out[i].ARN = PendingConfirmation
		}
	}
	return out, next, nil
}

type subscription struct {
	Subscription
	status        string
	authenticated bool
	attrs         map[string]string
	delivered     int64
	failed        int64
	lastOutcome   string
	lastAt        int64
}

func (s *Service) subscription(ctx context.Context, arn string) (*subscription, error) {
	sub := &subscription{}
	var a string
	err := s.db.QueryRowContext(ctx, `SELECT arn, owner, protocol, endpoint, topic_arn, status, authenticated, attributes, delivered, failed, last_outcome, last_at FROM sns_subscriptions WHERE arn = ?`, arn).
		Scan(&sub.ARN, &sub.Owner, &sub.Protocol, &sub.Endpoint, &sub.TopicARN, &sub.status, &sub.authenticated, &a, &sub.delivered, &sub.failed, &sub.lastOutcome, &sub.lastAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSubNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read subscription %s: %w", arn, err)
	}
	json.Unmarshal([]byte(a), &sub.attrs)
	if sub.attrs == nil {
		sub.attrs = map[string]string{}
	}
	return sub, nil
}

func (s *Service) callerSubscription(ctx context.Context, c Caller, arn, action string) (*subscription, error) {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return nil, invalid("SubscriptionArn")
	}
	if _, err := authorize(&c, arn[:i], "SubscriptionArn", action); err != nil {
		return nil, err
	}
	sub, err := s.subscription(ctx, arn)
	if err == nil && sub.status == statusDeleted {
		err = errSubNotFound
	}
	return sub, err
}

// SubscriptionAttributes returns the attributes GetSubscriptionAttributes reports, plus
// cairn's delivery outcome counters (DeliveriesSucceeded, DeliveriesFailed,
// LastDeliveryOutcome, LastDeliveryTime).
func (s *Service) SubscriptionAttributes(ctx context.Context, c Caller, arn string) (map[string]string, error) {
	sub, err := s.callerSubscription(ctx, c, arn, "GetSubscriptionAttributes")
	if err != nil {
		return nil, err
	}
	out := map[string]string{
		"SubscriptionArn": sub.ARN, "TopicArn": sub.TopicARN, "Owner": sub.Owner, "Protocol": sub.Protocol, "Endpoint": sub.Endpoint,
		"PendingConfirmation":          fmt.Sprint(sub.status == statusPending),
		"ConfirmationWasAuthenticated": fmt.Sprint(sub.authenticated),
		"RawMessageDelivery":           "false",
		"DeliveriesSucceeded":          fmt.Sprint(sub.delivered),
		"DeliveriesFailed":             fmt.Sprint(sub.failed),
	}
	if sub.lastOutcome != "" {
		out["LastDeliveryOutcome"] = sub.lastOutcome
		out["LastDeliveryTime"] = Timestamp(time.Unix(0, sub.lastAt))
	}
	if sub.Protocol == "http" || sub.Protocol == "https" {
		t, err := s.topic(ctx, s.db, sub.TopicARN)
		if err != nil {
			return nil, err
		}
		p, ct := effectivePolicy(t.attrs["DeliveryPolicy"], sub.attrs["DeliveryPolicy"])
		b, _ := json.Marshal(map[string]any{"healthyRetryPolicy": p, "requestPolicy": map[string]string{"headerContentType": ct}})
		out["EffectiveDeliveryPolicy"] = string(b)
	}
	for k, v := range sub.attrs {
		out[k] = v
	}
	return out, nil
}

// SetSubscriptionAttribute sets DeliveryPolicy or RawMessageDelivery.
func (s *Service) SetSubscriptionAttribute(ctx context.Context, c Caller, arn, name, value string) error {
	sub, err := s.callerSubscription(ctx, c, arn, "SetSubscriptionAttributes")
	if err != nil {
		return err
	}
	if err := validateSubAttribute(sub.Protocol, name, value); err != nil {
		return err
	}
	if !settableSubAttributes[name] {
		return invalid("AttributeName")
	}
	if value == "" {
		delete(sub.attrs, name)
	} else {
		sub.attrs[name] = value
	}
	b, _ := json.Marshal(sub.attrs)
	if _, err := s.db.ExecContext(ctx, `UPDATE sns_subscriptions SET attributes = ? WHERE arn = ?`, string(b), arn); err != nil {
		return fmt.Errorf("set %s of %s: %w", name, arn, err)
	}
	return nil
}

// MessageAttribute is one Publish message attribute.
type MessageAttribute struct {
	Name, DataType, StringValue string
	BinaryValue                 []byte
}

// PublishInput is a Publish call.
type PublishInput struct {
	TopicARN         string
	Subject          string
	Message          string
	MessageStructure string // "" or "json"
	Attributes       []MessageAttribute
}

var attrName = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,256}$`)

// validSubject: ASCII, starting with a letter, digit or punctuation, no control characters,
// under 100 characters.
func validSubject(s string) bool {
	if s == "" || len(s) >= 100 || s[0] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// messages picks, per protocol, the message a subscriber receives.
func messages(in *PublishInput) (map[string]string, error) {
	if in.Message == "" {
		return nil, invalid("Empty message")
	}
	if len(in.Message) > MaxMessageBytes {
		return nil, invalid("Message too long")
	}
	switch in.MessageStructure {
	case "":
		return map[string]string{"default": in.Message}, nil
	case "json":
	default:
		return nil, invalid("MessageStructure Reason: must be json")
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(in.Message), &raw); err != nil {
		return nil, invalid("Message Structure - JSON message body failed to parse")
	}
	out := map[string]string{}
	for k, v := range raw {
		str, ok := v.(string)
		if !ok {
			return nil, invalid("Message Structure - the value of %q must be a string", k)
		}
		out[k] = str
	}
	if _, ok := out["default"]; !ok {
		return nil, invalid("Message Structure - No default entry in JSON message body")
	}
	return out, nil
}

func attributesJSON(attrs []MessageAttribute) (string, error) {
	if len(attrs) == 0 {
		return "", nil
	}
	if len(attrs) > 10 {
		return "", invalid("MessageAttributes Reason: at most 10 attributes")
	}
	type av struct{ Type, Value string }
	out := map[string]av{}
	for _, a := range attrs {
		if !attrName.MatchString(a.Name) || strings.HasPrefix(strings.ToLower(a.Name), "aws.") || strings.HasPrefix(strings.ToLower(a.Name), "amazon.") {
			return "", invalid("The message attribute name '%s' is invalid", a.Name)
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		v := a.StringValue
		switch base {
		case "String", "Number":
			if a.StringValue == "" {
				return "", invalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, a.DataType)
			}
			if base == "Number" && !validNumber(v) {
				return "", invalid("Could not cast message attribute '%s' value to number.", a.Name)
			}
			if a.DataType == "String.Array" && !json.Valid([]byte(v)) {
				return "", invalid("The message attribute '%s' with type 'String.Array' must be a JSON array.", a.Name)
			}
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return "", invalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, a.DataType)
			}
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		default:
			return "", invalid("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", a.Name)
		}
		if _, dup := out[a.Name]; dup {
			return "", invalid("MessageAttributes Reason: %s given twice", a.Name)
		}
		out[a.Name] = av{a.DataType, v}
	}
	b, _ := json.Marshal(out)
	return string(b), nil
}

func validNumber(s string) bool {
	var f json.Number = json.Number(s)
	_, err := f.Float64()
	return err == nil
}

// Publish publishes message to a topic for an internal publisher (CloudWatch alarms): the
// same path as the SNS Publish operation, without a caller to authorize.
func (s *Service) Publish(ctx context.Context, topicARN, subject, message string) (messageID string, err error) {
	return s.publish(ctx, nil, PublishInput{TopicARN: topicARN, Subject: subject, Message: message})
}

// PublishAs is the SNS Publish operation: c must own the topic.
func (s *Service) PublishAs(ctx context.Context, c Caller, in PublishInput) (string, error) {
	return s.publish(ctx, &c, in)
}

func (s *Service) publish(ctx context.Context, c *Caller, in PublishInput) (string, error) {
	if in.TopicARN == "" {
		return "", invalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	if _, err := authorize(c, in.TopicARN, "TopicArn", "Publish"); err != nil {
		return "", err
	}
	if in.Subject != "" && !validSubject(in.Subject) {
		return "", invalid("Subject")
	}
	bodies, err := messages(&in)
	if err != nil {
		return "", err
	}
	attrs, err := attributesJSON(in.Attributes)
	if err != nil {
		return "", err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	t, err := s.topic(ctx, tx, in.TopicARN)
	if err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, `SELECT arn, protocol FROM sns_subscriptions WHERE topic_arn = ? AND status = 'confirmed'`, in.TopicARN)
	if err != nil {
		return "", fmt.Errorf("read subscriptions of %s: %w", in.TopicARN, err)
	}
	type target struct{ arn, protocol string }
	var targets []target
	for rows.Next() {
		var tg target
		if err := rows.Scan(&tg.arn, &tg.protocol); err != nil {
			rows.Close()
			return "", err
		}
		targets = append(targets, tg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	id, now := uuid.NewString(), s.now()
	for _, tg := range targets {
		body, ok := bodies[tg.protocol]
		if !ok {
			body = bodies["default"]
		}
		if err := s.enqueue(ctx, tx, delivery{sub: tg.arn, topic: in.TopicARN, typ: TypeNotification, id: id, subject: in.Subject,
			message: body, attributes: attrs, sigVersion: t.attrs["SignatureVersion"], at: now}); err != nil {
			return "", err
		}
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("publish to %s: %w", in.TopicARN, err)
	}
	s.metrics.published.Inc()
	s.kick()
	return id, nil
}

// sortedKeys is for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
