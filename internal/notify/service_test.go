package notify

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/meta"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fakeMailer struct {
	mu   sync.Mutex
	mail []Mail
}

func (f *fakeMailer) Send(_ context.Context, m Mail) error {
	f.mu.Lock()
	f.mail = append(f.mail, m)
	f.mu.Unlock()
	return nil
}

type recorded struct {
	header http.Header
	msg    *Message
}

// endpoint records what it receives and answers with status.
type endpoint struct {
	*httptest.Server
	mu     sync.Mutex
	got    []recorded
	status int
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{status: 200}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m, err := ParseMessage(b)
		if err != nil {
			t.Errorf("endpoint: %v", err)
		}
		e.mu.Lock()
		e.got = append(e.got, recorded{r.Header.Clone(), m})
		status := e.status
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) received() []recorded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]recorded(nil), e.got...)
}

var caller = Caller{Account: "123456789012", Region: "us-east-1", ARN: "arn:aws:iam::123456789012:root"}

func newTestService(t *testing.T) (*Service, *fakeClock, *fakeMailer) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := meta.Open(ctx, filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, err := LoadSigner(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	mailer := &fakeMailer{}
	s := New(Options{DB: db, Signer: signer, PublicURL: "https://cairn.example", Mailer: mailer, Now: clock.Now})
	return s, clock, mailer
}

// step delivers what is due at the fake clock's time and waits for it.
func step(t *testing.T, s *Service) {
	t.Helper()
	if _, err := s.dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.wg.Wait()
	s.flush(context.Background())
}

func subscribeConfirmed(t *testing.T, s *Service, topic, protocol, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	sub, _, err := s.Subscribe(ctx, caller, topic, protocol, endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	s.db.QueryRow(`SELECT token FROM sns_subscriptions WHERE arn = ?`, sub.ARN).Scan(&token)
	if _, err := s.ConfirmSubscription(ctx, &caller, topic, token, false); err != nil {
		t.Fatal(err)
	}
	return sub.ARN
}

// Retries follow the subscription's policy under an injected clock: nothing before the delay,
// one attempt at it, and after the last retry the message is given up and counted.
func TestRetriesWithInjectedClock(t *testing.T) {
	s, clock, _ := newTestService(t)
	ctx := context.Background()
	ep := newEndpoint(t)
	topic, _ := s.CreateTopic(ctx, caller, "t", nil, nil)
	sub := subscribeConfirmed(t, s, topic, "http", ep.URL)
	step(t, s) // the confirmation message (the subscription is already confirmed: dropped)
	if n := len(ep.received()); n != 0 {
		t.Fatalf("a confirmation for a confirmed subscription was sent (%d)", n)
	}
	ep.status = 503
	id, err := s.Publish(ctx, topic, "", "hello")
	if err != nil {
		t.Fatal(err)
	}
	step(t, s)
	if n := len(ep.received()); n != 1 {
		t.Fatalf("%d first attempts", n)
	}
	// SNS default: 3 retries, 20 s apart.
	for retry := 1; retry <= 3; retry++ {
		clock.Advance(19 * time.Second)
		step(t, s)
		if n := len(ep.received()); n != retry {
			t.Fatalf("retry %d came early: %d attempts", retry, n)
		}
		clock.Advance(time.Second)
		step(t, s)
		if n := len(ep.received()); n != retry+1 {
			t.Fatalf("retry %d: %d attempts", retry, n)
		}
	}
	clock.Advance(time.Hour)
	step(t, s)
	got := ep.received()
	if len(got) != 4 {
		t.Fatalf("%d attempts after the policy ran out, want 4", len(got))
	}
	for _, r := range got {
		if r.msg.MessageID != id || r.header.Get("x-amz-sns-message-id") != id {
			t.Errorf("a retry changed the MessageId: %s", r.msg.MessageID)
		}
	}
	attrs, err := s.SubscriptionAttributes(ctx, caller, sub)
	if err != nil {
		t.Fatal(err)
	}
	if attrs["DeliveriesFailed"] != "1" || !strings.HasPrefix(attrs["LastDeliveryOutcome"], "failed after 4 attempts: HTTP 503") {
		t.Errorf("outcome %v", attrs)
	}
	var queued int
	s.db.QueryRow(`SELECT COUNT(*) FROM sns_deliveries`).Scan(&queued)
	if queued != 0 {
		t.Errorf("%d rows left queued", queued)
	}
}

// Confirmation tokens: only the right token of the right topic confirms, within 2 days; a
// second confirmation is harmless; unsubscribing an http subscription hands out a token that
// restores it.
func TestConfirmationTokens(t *testing.T) {
	s, clock, _ := newTestService(t)
	ctx := context.Background()
	ep := newEndpoint(t)
	topic, _ := s.CreateTopic(ctx, caller, "t", nil, nil)
	other, _ := s.CreateTopic(ctx, caller, "other", nil, nil)
	sub, confirmed, err := s.Subscribe(ctx, caller, topic, "http", ep.URL, nil)
	if err != nil || confirmed {
		t.Fatal(err, confirmed)
	}
	step(t, s)
	got := ep.received()
	if len(got) != 1 || got[0].msg.Type != TypeSubscriptionConfirmation || got[0].header.Get("x-amz-sns-subscription-arn") != "" {
		t.Fatalf("confirmation %+v", got)
	}
	m := got[0].msg
	if !strings.HasPrefix(m.SubscribeURL, "https://cairn.example/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At&Token="+m.Token) {
		t.Errorf("SubscribeURL %s", m.SubscribeURL)
	}
	for _, bad := range []struct{ topic, token string }{{topic, "x"}, {other, m.Token}, {topic, m.Token[:10]}} {
		if _, err := s.ConfirmSubscription(ctx, &caller, bad.topic, bad.token, false); err == nil || !strings.Contains(err.Error(), "Invalid token") {
			t.Errorf("confirm(%s, %.10s…): %v", bad.topic, bad.token, err)
		}
	}
	// Subscribing again while pending resends the same token.
	if _, _, err := s.Subscribe(ctx, caller, topic, "http", ep.URL, nil); err != nil {
		t.Fatal(err)
	}
	step(t, s)
	if got := ep.received(); len(got) != 2 || got[1].msg.Token != m.Token {
		t.Errorf("resent confirmation %+v", got)
	}
	clock.Advance(TokenValidity + time.Minute)
	if _, err := s.ConfirmSubscription(ctx, nil, topic, m.Token, false); err == nil {
		t.Error("an expired token confirmed")
	}
	clock.Advance(-TokenValidity)
	arn, err := s.ConfirmSubscription(ctx, nil, topic, m.Token, false)
	if err != nil || arn != sub.ARN {
		t.Fatal(arn, err)
	}
	if again, err := s.ConfirmSubscription(ctx, nil, topic, m.Token, false); err != nil || again != arn {
		t.Errorf("second confirmation: %v %v", again, err)
	}
	if err := s.Unsubscribe(ctx, nil, arn); err != nil {
		t.Fatal(err)
	}
	step(t, s)
	got = ep.received()
	last := got[len(got)-1]
	if last.msg.Type != TypeUnsubscribeConfirmation || last.header.Get("x-amz-sns-subscription-arn") != arn {
		t.Fatalf("after unsubscribe: %+v", last)
	}
	if subs, _, _ := s.ListSubscriptions(ctx, caller, topic, ""); len(subs) != 0 {
		t.Errorf("unsubscribed subscription still listed: %+v", subs)
	}
	if restored, err := s.ConfirmSubscription(ctx, nil, topic, last.msg.Token, false); err != nil || restored != arn {
		t.Errorf("restoring through the UnsubscribeConfirmation's token: %v %v", restored, err)
	}
	attrs, _ := s.TopicAttributes(ctx, caller, topic)
	if attrs["SubscriptionsConfirmed"] != "1" || attrs["SubscriptionsDeleted"] != "0" {
		t.Errorf("topic counts %v", attrs)
	}
}

// Email formatting as SNS formats it, kept as testdata: the confirmation mail with its link
// and a notification with the unsubscribe footer.
func TestEmailFormatting(t *testing.T) {
	s, _, mailer := newTestService(t)
	ctx := context.Background()
	topic, _ := s.CreateTopic(ctx, caller, "sec-alerts", map[string]string{"DisplayName": "Security"}, nil)
	sub, _, err := s.Subscribe(ctx, caller, topic, "email", "oncall@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	step(t, s)
	var token string
	s.db.QueryRow(`SELECT token FROM sns_subscriptions WHERE arn = ?`, sub.ARN).Scan(&token)
	s.ConfirmSubscription(ctx, nil, topic, token, false)
	if _, err := s.Publish(ctx, topic, `ALARM: "Console sign-in failures" in US East (N. Virginia)`, "You are receiving this email because your Amazon CloudWatch Alarm has entered the ALARM state."); err != nil {
		t.Fatal(err)
	}
	step(t, s)
	if len(mailer.mail) != 2 {
		t.Fatalf("%d mails", len(mailer.mail))
	}
	for i, name := range []string{"email-confirmation.txt", "email-notification.txt"} {
		m := mailer.mail[i]
		got := "From: " + m.FromName + "\nTo: " + m.To + "\nSubject: " + m.Subject + "\n\n" + m.Body + "\n"
		got = strings.ReplaceAll(got, token, "<token>")
		got = strings.ReplaceAll(got, strings.TrimPrefix(sub.ARN, topic+":"), "<id>")
		path := filepath.Join("testdata", name)
		if os.Getenv("UPDATE_GOLDEN") != "" {
			os.WriteFile(path, []byte(got), 0o644)
		}
		want, _ := os.ReadFile(path)
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
	// On the wire: quoted-printable that decodes back to the body, UTF-8 subject.
	smtp := &SMTP{From: "alerts@cairn.example"}
	raw := smtp.Render(Mail{FromName: "Sécurité", To: "a@b.c", Subject: "Ünïcode", Body: strings.Repeat("x", 2000) + "\nend"}, time.Now())
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if string(body) != strings.Repeat("x", 2000)+"\r\nend\r\n" {
		t.Errorf("body did not round-trip: %q", body)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatal("a line longer than SMTP allows")
		}
	}
	if from, err := mail.ParseAddress(msg.Header.Get("From")); err != nil || from.Name != "Sécurité" {
		t.Errorf("From %q: %v", msg.Header.Get("From"), err)
	}
}

// Publish validates as SNS does and names the member that is wrong.
func TestPublishValidation(t *testing.T) {
	s, _, _ := newTestService(t)
	ctx := context.Background()
	topic, _ := s.CreateTopic(ctx, caller, "t", nil, nil)
	for _, tc := range []struct {
		in   PublishInput
		want string
	}{
		{PublishInput{TopicARN: topic}, "Empty message"},
		{PublishInput{TopicARN: topic, Message: strings.Repeat("x", MaxMessageBytes+1)}, "Message too long"},
		{PublishInput{TopicARN: topic, Message: "x", Subject: "two\nlines"}, "Subject"},
		{PublishInput{TopicARN: topic, Message: "x", Subject: strings.Repeat("s", 100)}, "Subject"},
		{PublishInput{TopicARN: topic, Message: "x", MessageStructure: "xml"}, "MessageStructure"},
		{PublishInput{TopicARN: topic, Message: "{", MessageStructure: "json"}, "failed to parse"},
		{PublishInput{TopicARN: topic, Message: `{"default":1}`, MessageStructure: "json"}, "default"},
		{PublishInput{TopicARN: topic, Message: "x", Attributes: []MessageAttribute{{Name: "n", DataType: "Number", StringValue: "abc"}}}, "number"},
		{PublishInput{TopicARN: topic, Message: "x", Attributes: []MessageAttribute{{Name: "n", DataType: "Blob", StringValue: "abc"}}}, "type"},
		{PublishInput{TopicARN: topic, Message: "x", Attributes: []MessageAttribute{{Name: "AWS.x", DataType: "String", StringValue: "a"}}}, "name"},
		{PublishInput{TopicARN: "arn:aws:sns:us-east-1:123456789012:nope", Message: "x"}, "Topic does not exist"},
		{PublishInput{TopicARN: "not-an-arn", Message: "x"}, "TopicArn"},
	} {
		_, err := s.PublishAs(ctx, caller, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+.60v: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// Alarms publish through Publish: a subject over SNS's limit (a long alarm name) is shortened,
// not refused, while the API refuses it.
func TestInternalPublishShortensSubject(t *testing.T) {
	s, _, mailer := newTestService(t)
	ctx := context.Background()
	topic, _ := s.CreateTopic(ctx, caller, "t", nil, nil)
	subscribeConfirmed(t, s, topic, "email", "a@example.com")
	long := `ALARM: "` + strings.Repeat("x", 120) + `" in US East (N. Virginia)`
	if _, err := s.PublishAs(ctx, caller, PublishInput{TopicARN: topic, Subject: long, Message: "m"}); err == nil {
		t.Error("the API accepted a 150-character subject")
	}
	if _, err := s.Publish(ctx, topic, long, "m"); err != nil {
		t.Fatal(err)
	}
	step(t, s)
	if n := len(mailer.mail); n != 1 || mailer.mail[0].Subject != long[:99] {
		t.Errorf("mails %+v", mailer.mail)
	}
}
