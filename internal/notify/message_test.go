package notify

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var signTests = []struct {
	name string
	msg  Message
}{
	{"notification", Message{Type: TypeNotification, MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic",
		Subject: "My First Message", Message: "Hello world!", Timestamp: "2012-05-02T00:54:06.655Z",
		UnsubscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"}},
	{"notification-no-subject", Message{Type: TypeNotification, MessageID: "da41e39f-ea4d-435a-b922-c6aae3915ebe", TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic",
		Message: "line one\nline \"two\" <&>", Timestamp: "2012-05-02T00:54:06.655Z"}},
	{"subscription-confirmation", Message{Type: TypeSubscriptionConfirmation, MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
		Token:    "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
		TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic", Message: "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
		Timestamp:    "2012-04-26T20:45:04.751Z"}},
}

// The canonical strings are golden files: SNS's documented member lists, in byte order.
func TestStringToSign(t *testing.T) {
	for _, tc := range signTests {
		t.Run(tc.name, func(t *testing.T) {
			got := StringToSign(&tc.msg)
			path := filepath.Join("testdata", "string-to-sign", tc.name+".txt")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(got), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("string to sign:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Messages signed with each SignatureVersion verify against the certificate as served (PEM),
// survive the JSON body round trip, and fail once any signed member changes.
func TestSignVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	signer, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadSigner(dir)
	if err != nil || again.CertName != signer.CertName || !strings.HasPrefix(signer.CertName, "SimpleNotificationService-") {
		t.Fatalf("reloaded signer %v: %v", again, err)
	}
	blk, _ := pem.Decode(signer.CertPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"1", "2"} {
		for _, tc := range signTests {
			m := tc.msg
			m.SignatureVersion = version
			if err := Sign(&m, signer.Key); err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseMessage(m.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(parsed, cert); err != nil {
				t.Errorf("v%s %s: %v", version, tc.name, err)
			}
			parsed.Message += "!"
			if Verify(parsed, cert) == nil {
				t.Errorf("v%s %s: a changed message still verifies", version, tc.name)
			}
			other := *parsed
			other.Message = m.Message
			other.SignatureVersion = map[string]string{"1": "2", "2": "1"}[version]
			if Verify(&other, cert) == nil {
				t.Errorf("v%s %s: verifies under the other SignatureVersion", version, tc.name)
			}
		}
	}
}

// The HTTP body has AWS's member order and layout.
func TestMarshalLayout(t *testing.T) {
	m := signTests[0].msg
	m.SignatureVersion, m.Signature, m.SigningCertURL = "1", "c2ln", "https://cairn.example/SimpleNotificationService-x.pem"
	want, err := os.ReadFile(filepath.Join("testdata", "notification-body.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Marshal()); got != strings.TrimRight(string(want), "\n") {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, tc := range signTests {
		m := tc.msg
		f.Add(m.Marshal())
	}
	f.Add([]byte(`{"Type":"Notification","MessageAttributes":{"a":{"Type":"String","Value":"b"}}}`))
	f.Add([]byte(`{"Type":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		// What parses renders and parses back to the same message.
		m2, err := ParseMessage(m.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", m.Marshal(), err)
		}
		if StringToSign(m) != StringToSign(m2) {
			t.Fatalf("round trip changed the signed members: %q vs %q", StringToSign(m), StringToSign(m2))
		}
	})
}

// Publish is the method CloudWatch alarms call (the interface lives with the alarms).
var _ func(context.Context, string, string, string) (string, error) = (*Service)(nil).Publish

func FuzzParseTopicARN(f *testing.F) {
	f.Add("arn:aws:sns:us-east-1:123456789012:topic")
	f.Add("arn:aws:sns:us-east-1:123456789012:topic:sub-id")
	f.Add(pageToken("arn:aws:sns:us-east-1:123456789012:t"))
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := ParseTopicARN(s); ok {
			if got := "arn:aws:sns:" + a.Region + ":" + a.Account + ":" + a.Name; !strings.HasSuffix(s, got[len("arn:aws:"):]) {
				t.Fatalf("%q parsed as %+v", s, a)
			}
		}
		if last, err := parsePageToken(s); err == nil && s != "" && pageToken(last) != s {
			if _, err := parsePageToken(pageToken(last)); err != nil {
				t.Fatalf("token %q → %q does not round-trip", s, last)
			}
		}
	})
}
