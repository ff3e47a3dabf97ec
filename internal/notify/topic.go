package notify

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

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
	if err := validateTags(tags); err != nil {
		return "", err
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

// Tags returns a topic's tags.
func (s *Service) Tags(ctx context.Context, c Caller, arn string) (map[string]string, error) {
	if _, err := authorize(&c, arn, "ResourceArn", "ListTagsForResource"); err != nil {
		return nil, err
	}
	t, err := s.topic(ctx, s.db, arn)
	if errors.Is(err, errTopicNotFound) {
		return nil, errResourceNotFound
	}
	if err != nil {
		return nil, err
	}
	return t.tags, nil
}

// Tag adds or replaces tags (set) and removes tag keys (remove) on a topic.
func (s *Service) Tag(ctx context.Context, c Caller, arn string, set map[string]string, remove []string) error {
	if _, err := authorize(&c, arn, "ResourceArn", "TagResource"); err != nil {
		return err
	}
	if err := validateTags(set); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t, err := s.topic(ctx, tx, arn)
	if errors.Is(err, errTopicNotFound) {
		return errResourceNotFound
	}
	if err != nil {
		return err
	}
	if t.tags == nil {
		t.tags = map[string]string{}
	}
	maps.Copy(t.tags, set)
	for _, k := range remove {
		delete(t.tags, k)
	}
	if len(t.tags) > 50 {
		return &Error{Kind: TagLimitExceeded, Message: "Could not complete request: tag quota of per resource exceeded"}
	}
	b, _ := json.Marshal(t.tags)
	if _, err := tx.ExecContext(ctx, `UPDATE sns_topics SET tags = ? WHERE arn = ?`, string(b), arn); err != nil {
		return fmt.Errorf("tag %s: %w", arn, err)
	}
	return tx.Commit()
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return &Error{Kind: TagLimitExceeded, Message: "Could not complete request: tag quota of per resource exceeded"}
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return invalid("Tags Reason: keys are 1 to 128 characters, values at most 256")
		}
	}
	return nil
}
