package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// The first start creates an account and a key, prints the exports and writes admin.env; they
// work, and a restart keeps them.
func TestBootstrapWritesWorkingAdminEnv(t *testing.T) {
	s := cairntest.New(t)
	s.NoBootstrapEnv = true
	s.Restart()
	env := map[string]string{}
	f, err := os.Open(filepath.Join(s.Data, "admin.env"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			env[k] = v
		}
	}
	f.Close()
	if st, _ := os.Stat(filepath.Join(s.Data, "admin.env")); st.Mode().Perm() != 0o600 {
		t.Errorf("admin.env mode %v", st.Mode().Perm())
	}
	keys := []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"}
	for _, k := range keys {
		if env[k] == "" {
			t.Errorf("%s missing from admin.env", k)
		}
	}
	// The server's output reaches the harness through a pipe that may lag its health check.
	cairntest.WaitFor(t, 10*time.Second, "the exports printed at start", func() bool {
		for _, k := range keys {
			if !strings.Contains(s.Logs(), "export "+k+"=") {
				return false
			}
		}
		return true
	})
	lookup := func() error {
		client := cloudtrail.NewFromConfig(aws.Config{Region: env["AWS_REGION"], BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL"]),
			Credentials: credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "")})
		_, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
		return err
	}
	if err := lookup(); err != nil {
		t.Fatalf("admin.env credentials refused: %v", err)
	}
	s.Stop()
	s.Restart()
	if err := lookup(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	cairntest.WaitFor(t, 10*time.Second, "the restart to say where the credentials are", func() bool {
		return strings.Contains(s.Logs(), "admin.env")
	})
}

// `cairn lookup` with the flags of aws cloudtrail lookup-events.
func TestLookupCommand(t *testing.T) {
	s := cairntest.Start(t)
	want := seedSeptember(t, s)
	cmd := exec.Command(cairntest.Binary(t), "lookup", "--endpoint-url", s.Endpoint, "--region", "ap-northeast-1",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
		"--start-time", "2019-09-01T00:00:00Z", "--end-time", "2019-09-30T23:59:59Z", "--output", "json")
	cmd.Env = s.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderrOf(err))
	}
	var resp struct {
		Events []struct{ EventId, EventName string }
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.Events) != len(want) || resp.Events[0].EventId != want[0] || resp.Events[0].EventName != "TerminateInstances" {
		t.Fatalf("%d events, %v:\n%.300s", len(resp.Events), err, out)
	}

	table := exec.Command(cairntest.Binary(t), "lookup", "--region", "ap-northeast-1", "--max-results", "5")
	table.Env = s.Env()
	out, err = table.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderrOf(err))
	}
	if !strings.Contains(string(out), "EVENT TIME") || !strings.Contains(string(out), "NextToken: ") || !strings.Contains(string(out), "5 events") {
		t.Errorf("table output:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-results", "99"}, "InvalidMaxResultsException"}, // the server's answer, as the aws CLI shows it
		// The aws CLI refuses paging arguments once pagination is off.
		{[]string{"--max-results", "5", "--max-items", "5"}, "--max-items: pagination arguments"},
		{[]string{"--page-size", "51"}, "--page-size 51"},
		{[]string{"--lookup-attributes", `[{"AttributeKey":`}, "not valid JSON"},
	} {
		bad := exec.Command(cairntest.Binary(t), append([]string{"lookup"}, tt.args...)...)
		bad.Env = s.Env()
		out, err = bad.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("cairn lookup %q: %v, want %q in\n%s", tt.args, err, tt.want, out)
		}
	}
}

// --max-items stops exactly, inside a page, and the NextToken it prints continues exactly,
// through cairn lookup or the aws CLI (the tokens are botocore's).
func TestLookupCommandPaginates(t *testing.T) {
	s := cairntest.Start(t)
	want := seedSeptember(t, s)
	window := []string{"--region", "ap-northeast-1", "--start-time", "2019-09-01T00:00:00Z", "--end-time", "2019-09-30T23:59:59Z", "--output", "json"}
	lookup := func(tool string, args ...string) (ids []string, next string) {
		t.Helper()
		if tool == "cairn" {
			tool, args = cairntest.Binary(t), append([]string{"lookup"}, args...)
		} else {
			args = append([]string{"cloudtrail", "lookup-events", "--endpoint-url", s.Endpoint}, args...)
		}
		cmd := exec.Command(tool, append(args, window...)...)
		cmd.Env = s.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, stderrOf(err))
		}
		var resp struct {
			Events    []struct{ EventId string }
			NextToken string
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		for _, e := range resp.Events {
			ids = append(ids, e.EventId)
		}
		return ids, resp.NextToken
	}
	// Several attributes after one flag (ANDed), the page cut at 10 of 7+7.
	first, next := lookup("cairn", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
		"AttributeKey=Username,AttributeValue=ops", "--page-size", "7", "--max-items", "10")
	if !slices.Equal(first, want[:10]) || next == "" {
		t.Fatalf("first 10: %v (next %q), want %v", first, next, want[:10])
	}
	second, next := lookup("cairn", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
		"AttributeKey=Username,AttributeValue=ops", "--page-size", "7", "--max-items", "10", "--starting-token", next)
	if !slices.Equal(second, want[10:20]) || next == "" {
		t.Fatalf("next 10: %v, want %v", second, want[10:20])
	}
	// The aws CLI takes the same token and finishes.
	rest, next := lookup(cairntest.Tool(t, "aws"), "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
		"AttributeKey=Username,AttributeValue=ops", "--starting-token", next)
	if !slices.Equal(rest, want[20:]) || next != "" {
		t.Fatalf("the rest through the aws CLI: %v (next %q), want %v", rest, next, want[20:])
	}
	// The request as JSON, as --cli-input-json takes it; --page-size paginates it.
	all, _ := lookup("cairn", "--cli-input-json", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"TerminateInstances"}]}`, "--page-size", "50")
	if !slices.Equal(all, want) {
		t.Fatalf("--cli-input-json: %d events, want %d", len(all), len(want))
	}
	// And cairn lookup takes the aws CLI's tokens.
	_, next = lookup(cairntest.Tool(t, "aws"), "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances",
		"--page-size", "4", "--max-items", "6")
	rest, _ = lookup("cairn", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=TerminateInstances", "--starting-token", next)
	if !slices.Equal(rest, want[6:]) {
		t.Fatalf("after the aws CLI's first 6: %v, want %v", rest, want[6:])
	}
}

// `cairn serve --demo` shows events at once, and /metrics and /healthz answer.
func TestDemoAndObservability(t *testing.T) {
	s := cairntest.Start(t, "--demo", "--demo-rate", "20")
	client := cloudtrail.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 20*time.Second, "demo events", func() bool {
		out, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{})
		return err == nil && len(out.Events) == 50
	})
	resp, err := http.Get(s.Endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"cairn_api_requests_total", "cairn_journal_last_sequence", "cairn_history_applied_sequence", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	resp, err = http.Get(s.Endpoint + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}
