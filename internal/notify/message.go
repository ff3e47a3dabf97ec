package notify

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Message types, as in the x-amz-sns-message-type header and the body's Type.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is one SNS message as HTTP(S) and email-json endpoints receive it. The JSON member
// order is AWS's.
type Message struct {
	Type              string          `json:"Type"`
	MessageID         string          `json:"MessageId"`
	Token             string          `json:"Token,omitempty"`
	TopicArn          string          `json:"TopicArn"`
	Subject           string          `json:"Subject,omitempty"`
	Message           string          `json:"Message"`
	SubscribeURL      string          `json:"SubscribeURL,omitempty"`
	Timestamp         string          `json:"Timestamp"`
	SignatureVersion  string          `json:"SignatureVersion"`
	Signature         string          `json:"Signature"`
	SigningCertURL    string          `json:"SigningCertURL"`
	UnsubscribeURL    string          `json:"UnsubscribeURL,omitempty"`
	MessageAttributes json.RawMessage `json:"MessageAttributes,omitempty"`
}

// Timestamp formats t as SNS does: UTC with milliseconds.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// StringToSign is SNS's canonical string: for each signed member present, in byte order of
// the names, the name, a newline, the value and a newline. Notifications sign Message,
// MessageId, Subject (when present), Timestamp, TopicArn and Type; confirmations sign
// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type.
func StringToSign(m *Message) string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k); b.WriteByte('\n'); b.WriteString(v); b.WriteByte('\n') }
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == TypeNotification {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
	} else {
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
	}
	add("Type", m.Type)
	return b.String()
}

// hashFor is the digest of a SignatureVersion: 1 is SHA1withRSA, 2 is SHA256withRSA.
func hashFor(version string) (crypto.Hash, error) {
	switch version {
	case "1":
		return crypto.SHA1, nil
	case "2":
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("unknown SignatureVersion %q", version)
}

func digest(h crypto.Hash, s string) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum([]byte(s))
		return d[:]
	}
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// Sign sets m.Signature with key under m.SignatureVersion.
func Sign(m *Message, key *rsa.PrivateKey) error {
	h, err := hashFor(m.SignatureVersion)
	if err != nil {
		return err
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, StringToSign(m)))
	if err != nil {
		return fmt.Errorf("sign message %s: %w", m.MessageID, err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// Verify checks m's signature against the certificate, as an SNS receiver does.
func Verify(m *Message, cert *x509.Certificate) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("certificate key is %T, not RSA", cert.PublicKey)
	}
	h, err := hashFor(m.SignatureVersion)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	return rsa.VerifyPKCS1v15(pub, h, digest(h, StringToSign(m)), sig)
}

// Marshal renders m as SNS renders HTTP bodies: members in AWS's order, one per line as
// `  "Name" : value`, strings without HTML escaping.
func (m *Message) Marshal() []byte {
	var b bytes.Buffer
	first := true
	add := func(k string, v []byte) {
		if first {
			b.WriteString("{\n")
			first = false
		} else {
			b.WriteString(",\n")
		}
		b.WriteString(`  "` + k + `" : `)
		b.Write(v)
	}
	str := func(k, v string) {
		var e bytes.Buffer
		enc := json.NewEncoder(&e)
		enc.SetEscapeHTML(false)
		enc.Encode(v) // a string cannot fail
		add(k, bytes.TrimRight(e.Bytes(), "\n"))
	}
	str("Type", m.Type)
	str("MessageId", m.MessageID)
	if m.Token != "" {
		str("Token", m.Token)
	}
	str("TopicArn", m.TopicArn)
	if m.Subject != "" {
		str("Subject", m.Subject)
	}
	str("Message", m.Message)
	if m.SubscribeURL != "" {
		str("SubscribeURL", m.SubscribeURL)
	}
	str("Timestamp", m.Timestamp)
	str("SignatureVersion", m.SignatureVersion)
	str("Signature", m.Signature)
	str("SigningCertURL", m.SigningCertURL)
	if m.UnsubscribeURL != "" {
		str("UnsubscribeURL", m.UnsubscribeURL)
	}
	if len(m.MessageAttributes) > 0 {
		add("MessageAttributes", m.MessageAttributes)
	}
	b.WriteString("\n}")
	return b.Bytes()
}

// ParseMessage decodes an SNS message body, as a receiver does.
func ParseMessage(body []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("parse SNS message: %w", err)
	}
	switch m.Type {
	case TypeNotification, TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
	default:
		return nil, fmt.Errorf("parse SNS message: unknown Type %q", m.Type)
	}
	return &m, nil
}
