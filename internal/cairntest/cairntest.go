// Package cairntest starts real cairn servers for integration tests: the cairn binary, built
// once per test process, on a free loopback port with a temporary data directory and known
// credentials.
package cairntest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Credentials every test server is bootstrapped with.
const (
	AccountID = "111122223333"
	AccessKey = "AKIAIOSFODNN7EXAMPLE"
	SecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	Region    = "us-east-1"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary returns the path of a cairn binary built from this checkout.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cairn-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "cairn")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/cairn")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/cairn: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// Server is a running cairn.
type Server struct {
	t        testing.TB
	Endpoint string
	Addr     string
	Data     string
	Args     []string
	// NoBootstrapEnv starts cairn without CAIRN_ACCOUNT_ID and the root key variables, so it
	// generates its own; set it before Restart.
	NoBootstrapEnv bool
	// ExtraEnv is added to the server's environment (e.g. an S3 object store's settings).
	ExtraEnv []string
	cmd      *exec.Cmd
	done     chan error
	logs     *logBuffer
}

// Start runs cairn serve with extra flags. The server is stopped when the test ends.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	s := New(t, flags...)
	s.start()
	return s
}

// New prepares a server without starting it; call Restart to start it.
func New(t testing.TB, flags ...string) *Server {
	s := &Server{t: t, Data: t.TempDir(), Args: flags}
	t.Cleanup(func() { s.Stop() })
	return s
}

// Restart starts a stopped or killed server again on the same data directory and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	if s.Addr == "" {
		s.Addr = freeAddr(t)
	}
	args := append([]string{"serve", "--data", s.Data, "--listen", s.Addr}, s.Args...)
	s.cmd = exec.Command(Binary(t), args...)
	s.cmd.Env = os.Environ()
	if !s.NoBootstrapEnv {
		s.cmd.Env = append(s.cmd.Env, "CAIRN_ACCOUNT_ID="+AccountID, "CAIRN_ROOT_ACCESS_KEY_ID="+AccessKey, "CAIRN_ROOT_SECRET_ACCESS_KEY="+SecretKey)
	}
	s.cmd.Env = append(s.cmd.Env, s.ExtraEnv...)
	s.logs = &logBuffer{}
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	s.Endpoint = "http://" + s.Addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("cairn exited during start: %v\n%s", err, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cairn did not become healthy in 30s\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("cairn exited with %v\n%s", err, s.logs)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Errorf("cairn did not stop within 30s of SIGTERM\n%s", s.logs)
	}
	s.cmd = nil
}

// Kill sends SIGKILL: a crash.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

// AWSConfig is an SDK configuration pointing at the server with the bootstrap credentials.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}
}

// Env is the environment the aws CLI needs to reach the server.
func (s *Server) Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+AccessKey, "AWS_SECRET_ACCESS_KEY="+SecretKey,
		"AWS_ENDPOINT_URL="+s.Endpoint, "AWS_REGION="+Region, "AWS_DEFAULT_REGION="+Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Tool returns the path of an external program a test needs. Without it the test skips, except
// under CI=true, where a missing tool fails the test: CI installs everything it needs.
func Tool(t testing.TB, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true but not installed: %v", path, err)
		}
		t.Skipf("%s not installed: %v", path, err)
	}
	return p
}

// WaitFor polls cond until it is true or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logBuffer keeps the last 64 KB a server printed, for failure messages.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 64<<10 {
		b.buf = b.buf[len(b.buf)-64<<10:]
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(b.buf)))
	for sc.Scan() {
		out.WriteString("    | " + sc.Text() + "\n")
	}
	return out.String()
}

var _ io.Writer = (*logBuffer)(nil)
