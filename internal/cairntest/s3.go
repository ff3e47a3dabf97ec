package cairntest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Credentials of the S3-compatible test server: cairn's, because the aws CLI signs its S3 and
// CloudTrail calls with the same key.
const (
	S3AccessKey = AccessKey
	S3SecretKey = SecretKey
)

// S3Server is a running versitygw (an S3-compatible server) over a temporary directory.
type S3Server struct {
	Endpoint string
	Dir      string
	cmd      *exec.Cmd
}

// StartS3 starts versitygw on a free loopback port; it stops when the test ends. Without the
// versitygw binary the test skips, or fails under CI=true (scripts/test-deps.sh installs it).
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	bin := Tool(t, "versitygw")
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--access", S3AccessKey, "--secret", S3SecretKey, "--port", addr, "posix", dir)
	cmd.Env = os.Environ()
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &S3Server{Endpoint: "http://" + addr, Dir: dir, cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			resp, err := http.Get(s.Endpoint)
			if err == nil {
				resp.Body.Close()
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not start in 20s\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Env is the environment that points cairn's S3 object store at this server.
func (s *S3Server) Env() []string {
	return []string{"CAIRN_S3_ENDPOINT=" + s.Endpoint, "CAIRN_S3_REGION=us-east-1",
		"CAIRN_S3_ACCESS_KEY_ID=" + S3AccessKey, "CAIRN_S3_SECRET_ACCESS_KEY=" + S3SecretKey}
}

// ObjectPath is where versitygw keeps an object on disk (for tamper tests).
func (s *S3Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(key))
}
