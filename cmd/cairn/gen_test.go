package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/klauspost/compress/gzip"
)

func runGenT(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = runGen(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

func lines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v: %s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

func TestGenStdout(t *testing.T) {
	args := []string{"--seed", "3", "--count", "200", "--start", "2024-02-01T00:00:00Z", "--end", "2024-02-01T01:00:00Z",
		"--accounts", "111122223333, 444455556666", "--regions", "eu-north-1"}
	out, _, err := runGenT(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	recs := lines(t, out)
	if len(recs) != 200 {
		t.Fatalf("%d records", len(recs))
	}
	prev := ""
	for _, r := range recs {
		at, _ := r["eventTime"].(string)
		if at < "2024-02-01T00:00:00Z" || at >= "2024-02-01T01:00:00Z" || at < prev {
			t.Fatalf("eventTime %s out of range or order", at)
		}
		prev = at
		if acct := r["recipientAccountId"]; acct != "111122223333" && acct != "444455556666" {
			t.Fatalf("account %v", acct)
		}
		if reg := r["awsRegion"]; reg != "eu-north-1" && reg != "us-east-1" {
			t.Fatalf("region %v", reg)
		}
	}
	again, _, _ := runGenT(t, args...)
	if again != out {
		t.Error("same flags gave different output")
	}

	// Defaults: 1000 events over the last 24 hours.
	out, _, err = runGenT(t)
	if err != nil {
		t.Fatal(err)
	}
	recs = lines(t, out)
	if len(recs) != 1000 {
		t.Fatalf("default count: %d", len(recs))
	}
	first, _ := time.Parse(time.RFC3339, recs[0]["eventTime"].(string))
	if d := time.Since(first); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("first event %v ago, want about 24h", d)
	}
}

func TestGenToDir(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runGenT(t, "--count", "500", "--to-dir", dir, "--start", "2024-02-01T00:00:00Z", "--end", "2024-02-01T00:30:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "wrote 500 events in ") || !strings.Contains(out, dir) {
		t.Errorf("summary %q", out)
	}
	events := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if _, err := logfile.ParseKey(filepath.ToSlash(rel)); err != nil {
			return err
		}
		f, err := openFile(path)
		if err != nil {
			return err
		}
		return logfile.Decode(f, func([]byte) error { events++; return nil })
	})
	if err != nil || events != 500 {
		t.Fatalf("%d events in the tree, %v", events, err)
	}
}

// ingestServer answers like cairn's endpoint: every record recorded, except
// ones already seen (duplicates); it fails the first failFirst requests with
// a 503.
type ingestServer struct {
	mu        sync.Mutex
	requests  int
	records   int
	seen      map[string]bool
	failFirst int
}

func (s *ingestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDGEN/") || r.URL.Path != ingest.Path {
		http.Error(w, `{"__type":"UnrecognizedClientException","message":"bad auth"}`, http.StatusForbidden)
		return
	}
	if s.failFirst > 0 {
		s.failFirst--
		http.Error(w, `{"__type":"ServiceUnavailableException","message":"busy"}`, http.StatusServiceUnavailable)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	body, _ := io.ReadAll(zr)
	var resp ingest.Response
	for i, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		var ev struct{ EventID string }
		json.Unmarshal(line, &ev)
		st := ingest.StatusRecorded
		if s.seen[ev.EventID] {
			st = ingest.StatusDuplicate
			resp.Duplicates++
		} else {
			s.seen[ev.EventID] = true
			resp.Recorded++
		}
		resp.Results = append(resp.Results, ingest.Result{Index: i, EventID: ev.EventID, Status: st})
		s.records++
	}
	json.NewEncoder(w).Encode(resp)
}

func setAWSEnv(t *testing.T, endpoint string) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDGEN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
}

func TestGenToServer(t *testing.T) {
	s := &ingestServer{seen: map[string]bool{}, failFirst: 1}
	srv := httptest.NewServer(s)
	defer srv.Close()
	setAWSEnv(t, srv.URL)

	out, errOut, err := runGenT(t, "--count", "2500", "--batch", "1000", "--to", "server")
	if err != nil {
		t.Fatal(err)
	}
	if out != "sent 2500 events: 2500 recorded, 0 duplicates, 0 rejected\n" {
		t.Errorf("summary %q", out)
	}
	if !strings.Contains(errOut, "retrying") || s.requests != 4 || s.records != 2500 {
		t.Errorf("%d requests, %d records; stderr %q", s.requests, s.records, errOut)
	}
	// The same seed again: the server already has every event.
	out, _, err = runGenT(t, "--count", "2500", "--to", srv.URL)
	if err != nil || out != "sent 2500 events: 0 recorded, 2500 duplicates, 0 rejected\n" {
		t.Errorf("resend: %q, %v", out, err)
	}

	// A refusal is not retried and is reported.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDOTHER")
	before := s.requests
	_, _, err = runGenT(t, "--count", "10", "--to", "server")
	var e *ingest.Error
	if !errors.As(err, &e) || e.Type != "UnrecognizedClientException" || s.requests != before+1 {
		t.Errorf("err = %v after %d requests", err, s.requests-before)
	}
}

func TestGenLive(t *testing.T) {
	out, errOut, err := runGenT(t, "--rate", "40", "--duration", "500ms")
	if err != nil {
		t.Fatal(err)
	}
	recs := lines(t, out)
	if len(recs) != 20 {
		t.Errorf("%d events at 40/s for 0.5s, want 20", len(recs))
	}
	for _, r := range recs {
		at, _ := time.Parse(time.RFC3339, r["eventTime"].(string))
		if d := time.Since(at); d < 0 || d > 10*time.Second {
			t.Fatalf("live event stamped %v ago", d)
		}
	}
	if !strings.Contains(errOut, "live: 20 events") {
		t.Errorf("stderr %q", errOut)
	}

	s := &ingestServer{seen: map[string]bool{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	setAWSEnv(t, srv.URL)
	out, _, err = runGenT(t, "--rate", "100", "--duration", "300ms", "--to", "server", "--batch", "7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "sent 30 events: 30 recorded") || s.records != 30 {
		t.Errorf("live to server: %q, server saw %d", out, s.records)
	}

	// Interrupted: a normal end.
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	var o, e bytes.Buffer
	if err := runGen(ctx, []string{"--rate", "20"}, &o, &e); err != nil {
		t.Fatalf("interrupted live run: %v", err)
	}
	// How many events fit in 250 ms depends on the machine's load; only an upper bound is sure.
	if n := len(lines(t, o.String())); n > 10 {
		t.Errorf("%d events in 250ms at 20/s", n)
	}
}

func TestGenFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--accounts", "12345"}, "12-digit"},
		{[]string{"--regions", "Mars"}, "region"},
		{[]string{"--count", "-1"}, "--count"},
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--start", "yesterday"}, "--start"},
		{[]string{"--end", "2024-01-01T00:00:00Z", "--start", "2024-01-02T00:00:00Z"}, "is not before"},
		{[]string{"--to", "http://x", "--to-dir", "d"}, "exclusive"},
		{[]string{"--rate", "5", "--count", "3"}, "live mode"},
		{[]string{"--duration", "1s"}, "needs --rate"},
		{[]string{"--to", "ftp://x"}, "not an http(s) URL"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		_, _, err := runGenT(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("gen %v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	if _, _, err := runGenT(t, "--to", "server"); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
		t.Errorf("--to server without AWS_ENDPOINT_URL: %v", err)
	}
	_, usage, err := runGenT(t, "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(usage, "Usage: cairn gen") || !strings.Contains(usage, "-to-dir") {
		t.Errorf("-h: %v\n%s", err, usage)
	}
}

func openFile(path string) (io.Reader, error) {
	b, err := os.ReadFile(path)
	return bytes.NewReader(b), err
}
