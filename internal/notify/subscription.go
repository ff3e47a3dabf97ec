package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

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
// topic set, the subscriptions of that topic. A pending subscription's ARN is hidden, as SNS
// hides it.
func (s *Service) ListSubscriptions(ctx context.Context, c Caller, topic, token string) ([]Subscription, string, error) {
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", err
	}
	var states []SubscriptionState
	var next string
	if topic != "" {
		if _, err := authorize(&c, topic, "TopicArn", "ListSubscriptionsByTopic"); err != nil {
			return nil, "", err
		}
		if _, err := s.topic(ctx, s.db, topic); err != nil {
			return nil, "", err
		}
		states, next, err = s.subscriptionStates(ctx, `s.topic_arn = ?`, after, topic)
	} else {
		states, next, err = s.subscriptionStates(ctx, `t.account_id = ? AND t.region = ?`, after, c.Account, c.Region)
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]Subscription, len(states))
	for i, st := range states {
		out[i] = st.Subscription
		if st.Pending {
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

// SubscriptionState is a subscription with its confirmation status and delivery outcomes, as
// the console shows it. Unlike the List operations it keeps a pending subscription's ARN, so
// the owner can see and remove a subscription that was never confirmed.
type SubscriptionState struct {
	Subscription
	Pending           bool
	Delivered, Failed int64  // deliveries that succeeded, and that were given up
	LastOutcome       string // "" before the first delivery
	LastAt            time.Time
}

// TopicSubscriptions returns a topic's subscriptions, PageSize at a time, in ARN order.
func (s *Service) TopicSubscriptions(ctx context.Context, c Caller, topic, token string) ([]SubscriptionState, string, error) {
	if _, err := authorize(&c, topic, "TopicArn", "ListSubscriptionsByTopic"); err != nil {
		return nil, "", err
	}
	after, err := parsePageToken(token)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.topic(ctx, s.db, topic); err != nil {
		return nil, "", err
	}
	return s.subscriptionStates(ctx, `s.topic_arn = ?`, after, topic)
}

// subscriptionStates returns the live subscriptions matching where (over sns_subscriptions s
// joined to sns_topics t) after the ARN after, PageSize at a time, and the next page's token.
func (s *Service) subscriptionStates(ctx context.Context, where, after string, args ...any) ([]SubscriptionState, string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.arn, s.owner, s.protocol, s.endpoint, s.topic_arn, s.status, s.delivered, s.failed, s.last_outcome, s.last_at
		FROM sns_subscriptions s JOIN sns_topics t ON t.arn = s.topic_arn
		WHERE s.status != 'deleted' AND s.arn > ? AND `+where+` ORDER BY s.arn LIMIT ?`, append(append([]any{after}, args...), PageSize+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []SubscriptionState
	for rows.Next() {
		var st SubscriptionState
		var status string
		var at int64
		if err := rows.Scan(&st.ARN, &st.Owner, &st.Protocol, &st.Endpoint, &st.TopicARN, &status, &st.Delivered, &st.Failed, &st.LastOutcome, &at); err != nil {
			return nil, "", err
		}
		st.Pending = status == statusPending
		if st.LastOutcome != "" {
			st.LastAt = time.Unix(0, at).UTC()
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > PageSize {
		out = out[:PageSize]
		next = pageToken(out[PageSize-1].ARN)
	}
	return out, next, nil
}
