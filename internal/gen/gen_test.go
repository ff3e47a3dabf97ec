package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/logfile"
)

var t0 = time.Date(2024, 5, 1, 23, 50, 0, 0, time.UTC)

// times returns n timestamps a little apart.
func times(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 1700 * time.Millisecond)
	}
	return ts
}

func TestDeterminism(t *testing.T) {
	ts := times(5000)
	run := func(cfg Config) [][]byte {
		g := New(cfg)
		out := make([][]byte, len(ts))
		for i, tm := range ts {
			out[i] = g.Event(tm)
		}
		return out
	}
	a, b := run(Config{Seed: 7}), run(Config{Seed: 7})
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("event %d differs between runs with the same seed:\n%s\n%s", i, a[i], b[i])
		}
	}
	c := run(Config{Seed: 8})
	same := 0
	for i := range a {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d events identical across seeds 7 and 8", same)
	}
	// Explicit accounts and regions are honoured and deterministic too.
	cfg := Config{Seed: 7, Accounts: []string{"111122223333", "444455556666"}, Regions: []string{"eu-central-1"}}
	d, e := run(cfg), run(cfg)
	for i := range d {
		if !bytes.Equal(d[i], e[i]) {
			t.Fatalf("event %d differs with explicit config", i)
		}
	}

	// Spread is deterministic and does not disturb the Event sequence.
	spread := func() [][]byte {
		var out [][]byte
		err := New(Config{Seed: 3}).Spread(2000, t0, t0.Add(time.Hour), func(raw []byte) error {
			out = append(out, raw)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	s1, s2 := spread(), spread()
	for i := range s1 {
		if !bytes.Equal(s1[i], s2[i]) {
			t.Fatalf("Spread event %d differs", i)
		}
	}
	g := New(Config{Seed: 3})
	for i, raw := range s1 {
		if got := g.Event(eventTimeOf(t, raw)); !bytes.Equal(got, raw) {
			t.Fatalf("Spread event %d differs from Event at the same time", i)
		}
	}
}

func eventTimeOf(t *testing.T, raw []byte) time.Time {
	t.Helper()
	var r struct {
		EventTime time.Time `json:"eventTime"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.EventTime
}

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
	keyRE     = regexp.MustCompile(`^(AKIA|ASIA)[A-Z2-7]{16}$`)
)

// record is the part of a CloudTrail record the tests check, with the
// types AWS uses: a wrong JSON type fails to decode.
type record struct {
	EventVersion string          `json:"eventVersion"`
	EventTime    string          `json:"eventTime"`
	EventSource  *string         `json:"eventSource"`
	EventName    *string         `json:"eventName"`
	EventID      string          `json:"eventID"`
	EventType    string          `json:"eventType"`
	AWSRegion    string          `json:"awsRegion"`
	Recipient    string          `json:"recipientAccountId"`
	ErrorCode    string          `json:"errorCode"`
	ErrorMessage string          `json:"errorMessage"`
	ReadOnly     *bool           `json:"readOnly"`
	Management   *bool           `json:"managementEvent"`
	Category     string          `json:"eventCategory"`
	Request      json.RawMessage `json:"requestParameters"`
	Response     json.RawMessage `json:"responseElements"`
	UserIdentity *struct {
		Type        string  `json:"type"`
		AccessKeyID *string `json:"accessKeyId"`
		UserName    string  `json:"userName"`
		AccountID   string  `json:"accountId"`
		InvokedBy   string  `json:"invokedBy"`
		Session     *struct {
			Attributes struct {
				CreationDate     time.Time `json:"creationDate"`
				MFAAuthenticated string    `json:"mfaAuthenticated"`
			} `json:"attributes"`
			Issuer map[string]string `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	Resources []map[string]string `json:"resources"`
	TLS       *struct {
		Version string `json:"tlsVersion"`
		Cipher  string `json:"cipherSuite"`
		Host    string `json:"clientProvidedHostHeader"`
	} `json:"tlsDetails"`
	FromConsole    *string         `json:"sessionCredentialFromConsole"`
	AdditionalData json.RawMessage `json:"additionalEventData"`
	SharedEventID  string          `json:"sharedEventID"`
	InsightDetails *struct {
		State       string `json:"state"`
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		InsightType string `json:"insightType"`
	} `json:"insightDetails"`
}

// check validates one record against the reference's rules.
func check(t *testing.T, raw []byte, at time.Time, accounts, regions []string) record {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nrecord: %s", fmt.Sprintf(format, args...), raw)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		fail("invalid JSON: %v", err)
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		fail("field types: %v", err)
	}
	if want := at.UTC().Format("2006-01-02T15:04:05Z"); r.EventTime != want {
		fail("eventTime %q, want %q", r.EventTime, want)
	}
	if !uuidRE.MatchString(r.EventID) {
		fail("eventID %q is not a v4 UUID", r.EventID)
	}
	if !accountRE.MatchString(r.Recipient) || !contains(accounts, r.Recipient) {
		fail("recipientAccountId %q not one of %v", r.Recipient, accounts)
	}
	if r.AWSRegion != "us-east-1" && !contains(regions, r.AWSRegion) {
		fail("awsRegion %q not one of %v", r.AWSRegion, regions)
	}
	if r.EventType == "AwsCloudTrailInsight" {
		for _, k := range []string{"eventName", "eventSource", "userIdentity", "sourceIPAddress", "userAgent"} {
			if _, ok := keys[k]; ok {
				fail("Insights record has top-level %s", k)
			}
		}
		if r.EventVersion != "1.07" || r.Category != "Insight" || r.InsightDetails == nil || r.SharedEventID == "" {
			fail("bad Insights record")
		}
		return r
	}
	if r.EventVersion != "1.11" {
		fail("eventVersion %q", r.EventVersion)
	}
	if r.EventSource == nil || !strings.HasSuffix(*r.EventSource, ".amazonaws.com") || r.EventName == nil || *r.EventName == "" {
		fail("eventSource/eventName")
	}
	for _, k := range []string{"requestParameters", "responseElements", "userIdentity", "sourceIPAddress", "userAgent", "readOnly", "managementEvent", "eventCategory"} {
		if _, ok := keys[k]; !ok {
			fail("missing %s", k)
		}
	}
	if r.ReadOnly == nil || r.Management == nil {
		fail("readOnly/managementEvent not booleans")
	}
	if (r.Category == "Data") == *r.Management || (r.Category != "Data" && r.Category != "Management") {
		fail("eventCategory %q vs managementEvent %v", r.Category, *r.Management)
	}
	if *r.EventSource == "iam.amazonaws.com" && r.AWSRegion != "us-east-1" {
		fail("IAM event outside us-east-1")
	}
	if r.ErrorCode != "" && string(r.Response) != "null" {
		fail("failed call with responseElements")
	}
	id := r.UserIdentity
	if id == nil || id.Type == "" {
		fail("no userIdentity.type")
	}
	if id.Type == "AWSService" {
		if id.InvokedBy == "" || r.TLS != nil {
			fail("AWSService caller needs invokedBy and no tlsDetails")
		}
	} else {
		if r.TLS == nil || r.TLS.Version == "" || r.TLS.Host == "" {
			fail("missing tlsDetails")
		}
		if id.AccountID != r.Recipient && (r.SharedEventID == "" || !contains(accounts, id.AccountID)) {
			fail("userIdentity.accountId %q != recipient and not a shared cross-account event", id.AccountID)
		}
	}
	if id.AccessKeyID != nil && *id.AccessKeyID != "" && !keyRE.MatchString(*id.AccessKeyID) {
		fail("access key %q", *id.AccessKeyID)
	}
	if s := id.Session; s != nil {
		if m := s.Attributes.MFAAuthenticated; m != "true" && m != "false" {
			fail("mfaAuthenticated %q", m)
		}
		if s.Attributes.CreationDate.After(at) {
			fail("session created after the call")
		}
	}
	if r.FromConsole != nil {
		if *r.FromConsole != "true" || id.AccessKeyID == nil || !strings.HasPrefix(*id.AccessKeyID, "ASIA") {
			fail("sessionCredentialFromConsole needs an ASIA key")
		}
	}
	for _, res := range r.Resources {
		if _, ok := res["arn"]; ok || !strings.HasPrefix(res["ARN"], "arn:aws:") {
			fail("resource without upper-case ARN: %v", res)
		}
	}
	return r
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestRecords(t *testing.T) {
	n := 40000
	if testing.Short() || raceEnabled {
		n = 10000
	}
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	regions := []string{"us-west-2", "eu-west-1"}
	g := New(Config{Seed: 42, Accounts: accounts, Regions: regions})
	g.insightRate = 1.0 / 5000
	var (
		counts                                 = map[string]int{}
		primary, errs, apiCalls, data, console int
		logins, loginFailures, hidden          int
		rootConsole, insights, total, big      int
		shared                                 int
		maxSize                                int
	)
	for i, at := range times(n) {
		raw := g.Event(at)
		r := check(t, raw, at, accounts, regions)
		total += len(raw)
		maxSize = max(maxSize, len(raw))
		if len(raw) > 3000 {
			big++
		}
		if r.Recipient == accounts[0] {
			primary++
		}
		if r.EventType == "AwsCloudTrailInsight" {
			insights++
			continue
		}
		counts[*r.EventName]++
		switch {
		case *r.EventName == "ConsoleLogin":
			logins++
			if r.ErrorMessage != "" {
				loginFailures++
				if r.ErrorMessage != "Failed authentication" || r.ErrorCode != "" || !bytes.Contains(r.Response, []byte(`"Failure"`)) {
					t.Fatalf("event %d: bad failed sign-in: %s", i, raw)
				}
			}
			if r.UserIdentity.UserName == "HIDDEN_DUE_TO_SECURITY_REASONS" {
				hidden++
			}
			if r.EventType != "AwsConsoleSignIn" || string(r.Request) != "null" || !bytes.Contains(r.AdditionalData, []byte(`"MobileVersion":"No"`)) {
				t.Fatalf("event %d: bad sign-in: %s", i, raw)
			}
		default:
			apiCalls++
			if r.ErrorCode != "" {
				errs++
			}
		}
		if r.Category == "Data" {
			data++
		}
		if r.SharedEventID != "" {
			shared++
		}
		if r.FromConsole != nil {
			console++
			if r.UserIdentity.Type == "Root" {
				rootConsole++
			}
		}
	}
	ratio := func(name string, got, of int, lo, hi float64) {
		t.Helper()
		f := float64(got) / float64(of)
		t.Logf("%-24s %6d / %6d = %.4f", name, got, of, f)
		if f < lo || f > hi {
			t.Errorf("%s ratio %.4f outside [%v, %v]", name, f, lo, hi)
		}
	}
	ratio("primary account", primary, n, 0.66, 0.74)
	ratio("API errors", errs, apiCalls, 0.02, 0.08)
	ratio("sign-in failures", loginFailures, logins, 0.05, 0.16)
	ratio("hidden user names", hidden, loginFailures, 0.2, 0.8)
	ratio("data events", data, n, 0.1, 0.25)
	ratio("console sessions", console, n, 0.05, 0.3)
	ratio("root console calls", rootConsole, n, 0.0005, 0.02)
	ratio("insights", insights, n, 0.00005, 0.003)
	ratio("cross-account (shared)", shared, n, 0.001, 0.03)
	ratio("records > 3 KB", big, n, 0.001, 0.05)
	avg := total / n
	t.Logf("average record %d bytes, largest %d", avg, maxSize)
	if avg < 1000 || avg > 1600 {
		t.Errorf("average record %d bytes, want 1000–1600", avg)
	}
	for _, o := range []string{"RunInstances", "TerminateInstances", "DescribeInstances", "AuthorizeSecurityGroupIngress",
		"RevokeSecurityGroupIngress", "CreateTags", "DeleteTags", "CreateBucket", "PutBucketEncryption", "PutBucketPolicy",
		"ListBuckets", "GetObject", "PutObject", "CreateUser", "AttachUserPolicy", "CreateAccessKey", "CreateTable",
		"DeleteTable", "DescribeTable", "Decrypt", "GenerateDataKey", "CreateKey", "AssumeRole", "GetCallerIdentity",
		"StopLogging", "ConsoleLogin"} {
		if counts[o] == 0 {
			t.Errorf("no %s in %d events", o, n)
		}
	}
}

func TestInsightPairs(t *testing.T) {
	g := New(Config{Seed: 5})
	g.insightRate = 0.01
	type start struct {
		at      time.Time
		eventID string
	}
	open := map[string]start{}
	pairs := 0
	n := 20000
	if raceEnabled {
		n = 5000
	}
	for _, at := range times(n) {
		raw := g.Event(at)
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.InsightDetails == nil {
			continue
		}
		switch r.InsightDetails.State {
		case "Start":
			if len(open) > 0 {
				t.Fatalf("a second Insights anomaly started before the first ended")
			}
			open[r.SharedEventID] = start{at, r.EventID}
		case "End":
			s, ok := open[r.SharedEventID]
			if !ok || s.eventID == r.EventID || at.Sub(s.at) < time.Minute {
				t.Fatalf("End without its Start, or too soon: %s", raw)
			}
			delete(open, r.SharedEventID)
			pairs++
		default:
			t.Fatalf("state %q", r.InsightDetails.State)
		}
	}
	if pairs < 3 {
		t.Errorf("only %d Insights pairs", pairs)
	}
}

func TestSpread(t *testing.T) {
	g := New(Config{Seed: 1})
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * time.Minute)
	var prev time.Time
	n := 0
	err := g.Spread(3000, start, end, func(raw []byte) error {
		at := eventTimeOf(t, raw)
		if at.Before(prev) || at.Before(start) || !at.Before(end) {
			t.Fatalf("event %d at %v: out of order or outside [%v, %v)", n, at, start, end)
		}
		prev = at
		n++
		return nil
	})
	if err != nil || n != 3000 {
		t.Fatalf("Spread: %d events, %v", n, err)
	}
	stop := errors.New("stop")
	if err := g.Spread(10, start, end, func([]byte) error { return stop }); err != stop {
		t.Errorf("callback error = %v", err)
	}
	if err := g.Spread(10, end, start, func([]byte) error { return nil }); err == nil {
		t.Error("end before start accepted")
	}
	if err := g.Spread(-1, start, end, func([]byte) error { return nil }); err == nil {
		t.Error("negative count accepted")
	}
	if err := g.Spread(0, end, start, func([]byte) error { t.Fatal("called"); return nil }); err != nil {
		t.Errorf("n = 0: %v", err)
	}
}

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Seed: 9, Accounts: []string{"111122223333", "444455556666"}}
	g := New(cfg)
	g.insightRate = 0.002
	start := t0
	end := start.Add(40 * time.Minute) // crosses midnight: delivery dates change
	const n = 4000
	st, err := g.WriteTree(dir, n, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != n {
		t.Errorf("stats say %d events, want %d", st.Events, n)
	}
	files, events, insightFiles := 0, 0, 0
	var size int64
	digest := map[string][]byte{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		key := filepath.ToSlash(rel)
		info, err := logfile.ParseKey(key)
		if err != nil {
			return err
		}
		if info.Time.Minute()%5 != 0 || info.Prefix != "" || info.OrgID != "" {
			t.Errorf("%s: delivery time not on a 5-minute boundary", key)
		}
		fi, _ := d.Info()
		size += fi.Size()
		files++
		if info.Kind == logfile.Insight {
			insightFiles++
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		digest[key] = b
		return logfile.Decode(bytes.NewReader(b), func(raw []byte) error {
			events++
			var r record
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			at, _ := time.Parse(time.RFC3339, r.EventTime)
			if r.Recipient != info.Account || r.AWSRegion != info.Region {
				t.Errorf("%s holds a record of %s/%s", key, r.Recipient, r.AWSRegion)
			}
			if (r.EventType == "AwsCloudTrailInsight") != (info.Kind == logfile.Insight) {
				t.Errorf("%s: record of type %s", key, r.EventType)
			}
			if !at.Before(info.Time) || info.Time.Sub(at) > 5*time.Minute {
				t.Errorf("%s (delivered %v) holds a record of %v", key, info.Time, at)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != st.Files || events != n || size != st.Bytes {
		t.Errorf("found %d files, %d events, %d bytes; stats %+v", files, events, size, st)
	}
	if insightFiles == 0 {
		t.Error("no CloudTrail-Insight files")
	}
	// 8 windows × 2 accounts × up to 4 regions (3 + us-east-1 for IAM).
	if files < 16 || files > 8*2*4+insightFiles {
		t.Errorf("%d files for 8 windows", files)
	}

	// Same seed, same tree, byte for byte.
	dir2 := t.TempDir()
	g2 := New(cfg)
	g2.insightRate = 0.002
	if _, err := g2.WriteTree(dir2, n, start, end); err != nil {
		t.Fatal(err)
	}
	for key, b := range digest {
		b2, err := os.ReadFile(filepath.Join(dir2, filepath.FromSlash(key)))
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("second tree differs at %s: %v", key, err)
		}
	}
}

// A window busier than a file may hold is split over several files.
func TestWriteTreeSplitsBigWindows(t *testing.T) {
	dir := t.TempDir()
	g := New(Config{Seed: 2, Accounts: []string{"111122223333"}, Regions: []string{"us-east-1"}})
	g.insightRate = 0
	n := maxFileRecords + 123
	st, err := g.WriteTree(dir, n, t0, t0.Add(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Events != n {
		t.Fatalf("stats %+v, want 2 files", st)
	}
	var sizes []int
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		count := 0
		if err := logfile.Decode(f, func([]byte) error { count++; return nil }); err != nil {
			return err
		}
		sizes = append(sizes, count)
		return nil
	})
	if len(sizes) != 2 || sizes[0]+sizes[1] != n || max(sizes[0], sizes[1]) != maxFileRecords {
		t.Errorf("files hold %v records", sizes)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Accounts: []string{"111122223333"}, Regions: []string{"us-gov-west-1"}}, true},
		{Config{Accounts: []string{"11112222333"}}, false},
		{Config{Accounts: []string{"11112222333x"}}, false},
		{Config{Regions: []string{"US-EAST-1"}}, false},
		{Config{Regions: []string{""}}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v", tt.cfg, err)
		}
	}
	// Whatever it is given, New still writes valid JSON.
	g := New(Config{Accounts: []string{`12"34`}, Regions: []string{"a\\b"}})
	for _, at := range times(300) {
		if raw := g.Event(at); !json.Valid(raw) {
			t.Fatalf("invalid JSON from odd config: %s", raw)
		}
	}
}

func BenchmarkEvent(b *testing.B) {
	g := New(Config{Seed: 1})
	at := t0
	var size int
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(10 * time.Millisecond)
		size += len(g.Event(at))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(size)/float64(b.N), "B/event")
}
