package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

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
	if !utf8.ValidString(in.Message) {
		return nil, invalid("Message Reason: not valid UTF-8")
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
	// An alarm's subject grows with its name; a notification that cannot be sent is worse
	// than a shortened subject, so it is cut to SNS's limit here rather than refused.
	if len(subject) >= 100 && validSubject(subject[:99]) {
		subject = subject[:99]
	}
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
