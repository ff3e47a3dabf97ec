package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/klauspost/compress/gzip"
)

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token"}

// fakeServer checks each request the way cairn's server must (signature
// recomputed with the same credentials) and answers like it: records whose
// eventID it has seen are duplicates, records without one are rejected.
type fakeServer struct {
	t        *testing.T
	seen     map[string]bool
	lastBody []byte
	lastType string
	status   int    // when non-zero, answer with this status and body
	body     string //
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.t
	if r.Method != http.MethodPost || r.URL.Path != ingest.Path {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	s.lastType = r.Header.Get("Content-Type")
	raw, _ := io.ReadAll(r.Body)
	if !s.verify(r, raw) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}

	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Errorf("body is not gzip: %v", err)
		return
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Error(err)
		return
	}
	s.lastBody = body
	if s.status != 0 {
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
		return
	}
	var records []json.RawMessage
	switch s.lastType {
	case ingest.ContentTypeNDJSON:
		for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
			records = append(records, line)
		}
	case ingest.ContentTypeJSON:
		var f struct{ Records []json.RawMessage }
		if err := json.Unmarshal(body, &f); err != nil {
			t.Error(err)
			return
		}
		records = f.Records
	default:
		t.Errorf("Content-Type %q", s.lastType)
		return
	}
	var resp ingest.Response
	for i, rec := range records {
		var ev struct{ EventID string }
		if err := json.Unmarshal(rec, &ev); err != nil {
			t.Errorf("record %d not JSON: %q", i, rec)
			return
		}
		res := ingest.Result{Index: i, EventID: ev.EventID}
		switch {
		case ev.EventID == "":
			res.Status, res.Reason = ingest.StatusRejected, "eventID: missing"
			resp.Rejected++
		case s.seen[ev.EventID]:
			res.Status = ingest.StatusDuplicate
			resp.Duplicates++
		default:
			s.seen[ev.EventID] = true
			res.Status = ingest.StatusRecorded
			resp.Recorded++
		}
		resp.Results = append(resp.Results, res)
	}
	json.NewEncoder(w).Encode(resp)
}

// verify recomputes the SigV4 signature from the signed headers only.
func (s *fakeServer) verify(r *http.Request, body []byte) bool {
	t := s.t
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		t.Errorf("Authorization %q is not SigV4", r.Header.Get("Authorization"))
		return false
	}
	if m[1] != testCreds.AccessKeyID || m[3] != "eu-west-3" || m[4] != ingest.SigningName {
		t.Errorf("credential scope %v", m[1:5])
	}
	if r.Header.Get("X-Amz-Security-Token") != testCreds.SessionToken {
		t.Error("session token not sent")
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(when) > time.Minute || m[2] != when.Format("20060102") {
		t.Errorf("X-Amz-Date %q (%v), scope date %s", r.Header.Get("X-Amz-Date"), err, m[2])
	}
	signed := strings.Split(m[5], ";")
	for _, h := range []string{"host", "x-amz-date", "content-type", "content-encoding"} {
		if !contains(signed, h) {
			t.Errorf("%s not signed (%s)", h, m[5])
		}
	}
	check, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	for _, h := range signed {
		if h != "host" {
			check.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if contains(signed, "content-length") {
		check.ContentLength = r.ContentLength
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, check, hex.EncodeToString(sum[:]), m[4], m[3], when); err != nil {
		t.Error(err)
		return false
	}
	if got := authRE.FindStringSubmatch(check.Header.Get("Authorization")); got == nil || got[6] != m[6] {
		t.Errorf("signature does not verify:\n got  %s\n want %s", r.Header.Get("Authorization"), check.Header.Get("Authorization"))
		return false
	}
	return true
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func newClient(t *testing.T, h http.Handler) *ingest.Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &ingest.Client{
		Endpoint:    srv.URL + "/",
		Region:      "eu-west-3",
		Credentials: credentials.StaticCredentialsProvider{Value: testCreds},
		HTTPClient:  srv.Client(),
	}
}

func TestSend(t *testing.T) {
	fs := &fakeServer{t: t, seen: map[string]bool{}}
	c := newClient(t, fs)
	recs := [][]byte{
		[]byte(`{"eventID":"a","eventName":"X"}`),
		[]byte(`{"eventID":"b", "requestParameters" : null}`),
		[]byte(`{"eventID":"a"}`),
		[]byte(`{"eventName":"no id"}`),
	}
	resp, err := c.Send(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if fs.lastType != ingest.ContentTypeNDJSON || string(fs.lastBody) != string(bytes.Join(recs, []byte("\n")))+"\n" {
		t.Errorf("body %s %q", fs.lastType, fs.lastBody)
	}
	want := ingest.Response{Recorded: 2, Duplicates: 1, Rejected: 1, Results: []ingest.Result{
		{Index: 0, EventID: "a", Status: ingest.StatusRecorded},
		{Index: 1, EventID: "b", Status: ingest.StatusRecorded},
		{Index: 2, EventID: "a", Status: ingest.StatusDuplicate},
		{Index: 3, Status: ingest.StatusRejected, Reason: "eventID: missing"},
	}}
	if !equal(*resp, want) {
		t.Errorf("response\n %+v\nwant\n %+v", *resp, want)
	}
}

func equal(a, b ingest.Response) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// Records that are not one JSON object are rejected locally; the others
// keep their own indices.
func TestSendRejectsBadRecordsLocally(t *testing.T) {
	fs := &fakeServer{t: t, seen: map[string]bool{}}
	c := newClient(t, fs)
	recs := [][]byte{
		[]byte(`{"eventID":"1"}`),
		[]byte(""),
		[]byte(`{"eventID":"2"} {"eventID":"3"}`),
		[]byte(`[{"eventID":"4"}]`),
		[]byte("{\n  \"eventID\": \"5\"\n}"), // spans lines: sent as {"Records":[…]}
		[]byte(`{"eventID":`),
	}
	resp, err := c.Send(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if fs.lastType != ingest.ContentTypeJSON || string(fs.lastBody) != `{"Records":[{"eventID":"1"},`+string(recs[4])+`]}` {
		t.Errorf("body %s %q", fs.lastType, fs.lastBody)
	}
	want := ingest.Response{Recorded: 2, Rejected: 4, Results: []ingest.Result{
		{Index: 0, EventID: "1", Status: ingest.StatusRecorded},
		{Index: 1, Status: ingest.StatusRejected, Reason: "empty record"},
		{Index: 2, Status: ingest.StatusRejected, Reason: "invalid JSON"},
		{Index: 3, Status: ingest.StatusRejected, Reason: "not a JSON object"},
		{Index: 4, EventID: "5", Status: ingest.StatusRecorded},
		{Index: 5, Status: ingest.StatusRejected, Reason: "invalid JSON"},
	}}
	if !equal(*resp, want) {
		t.Errorf("response\n %+v\nwant\n %+v", *resp, want)
	}

	// Nothing valid: no request at all.
	fs.lastBody = nil
	resp, err = c.Send(context.Background(), [][]byte{[]byte("x")})
	if err != nil || resp.Rejected != 1 || fs.lastBody != nil {
		t.Errorf("all-invalid batch: %+v, %v, sent %q", resp, err, fs.lastBody)
	}
	resp, err = c.Send(context.Background(), nil)
	if err != nil || len(resp.Results) != 0 || resp.Results == nil {
		t.Errorf("empty batch: %+v, %v", resp, err)
	}
}

func TestSendErrors(t *testing.T) {
	recs := [][]byte{[]byte(`{"eventID":"a"}`)}
	tests := []struct {
		name   string
		status int
		body   string
		want   ingest.Error
	}{
		{"AWS JSON error", 403, `{"__type":"com.amazonaws.cloudtrail#InvalidSignatureException","message":"Signature mismatch"}`,
			ingest.Error{StatusCode: 403, Type: "InvalidSignatureException", Message: "Signature mismatch"}},
		{"capital Message", 400, `{"__type":"ValidationException","Message":"too big"}`,
			ingest.Error{StatusCode: 400, Type: "ValidationException", Message: "too big"}},
		{"plain text", 502, "bad gateway\n", ingest.Error{StatusCode: 502, Message: "bad gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, &fakeServer{t: t, seen: map[string]bool{}, status: tt.status, body: tt.body})
			_, err := c.Send(context.Background(), recs)
			var e *ingest.Error
			if !errors.As(err, &e) || *e != tt.want {
				t.Fatalf("err = %#v, want %#v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tt.status)) {
				t.Errorf("message %q", err)
			}
		})
	}

	t.Run("wrong number of results", func(t *testing.T) {
		c := newClient(t, &fakeServer{t: t, seen: map[string]bool{}, status: 200, body: `{"recorded":0,"results":[]}`})
		if _, err := c.Send(context.Background(), recs); err == nil || !strings.Contains(err.Error(), "0 results for 1 records") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		c := newClient(t, &fakeServer{t: t})
		c.Credentials = nil
		if _, err := c.Send(context.Background(), recs); err == nil {
			t.Fatal("sent without credentials")
		}
	})
	t.Run("credentials fail", func(t *testing.T) {
		c := newClient(t, &fakeServer{t: t})
		c.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("expired")
		})
		if _, err := c.Send(context.Background(), recs); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := newClient(t, &fakeServer{t: t, seen: map[string]bool{}})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Send(ctx, recs); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClientFromEnv(t *testing.T) {
	dir := t.TempDir()
	// Isolate from the machine's AWS configuration.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")

	c, err := ingest.ClientFromEnv("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "http://127.0.0.1:4566" || c.Region != "us-east-1" {
		t.Errorf("client %+v", c)
	}
	creds, err := c.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDENV" {
		t.Errorf("credentials %+v, %v", creds, err)
	}

	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	if c, _ := ingest.ClientFromEnv(""); c.Region != "eu-west-1" {
		t.Errorf("AWS_DEFAULT_REGION ignored: %s", c.Region)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	if c, _ := ingest.ClientFromEnv("https://cairn.example:8443"); c.Region != "ap-south-1" || c.Endpoint != "https://cairn.example:8443" {
		t.Errorf("AWS_REGION or override ignored: %+v", c)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[default]\nregion = sa-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if c, _ := ingest.ClientFromEnv(""); c.Region != "sa-east-1" {
		t.Errorf("profile region ignored: %s", c.Region)
	}

	for _, bad := range []string{"127.0.0.1:4566", "ftp://x", "http://"} {
		if _, err := ingest.ClientFromEnv(bad); err == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	if _, err := ingest.ClientFromEnv(""); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
		t.Errorf("missing endpoint: %v", err)
	}
}
