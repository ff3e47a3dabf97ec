package recorder

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// ConsoleLogin records in the shapes AWS documents for console sign-in events
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html).
func TestSignInMarshal(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 1, 2, 0, time.UTC)
	base := SignIn{Time: at, Account: "111122223333", Region: "us-east-1", SourceIP: "192.0.2.110",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", LoginTo: "https://cairn.example/console/"}
	user := &event.UserIdentity{Type: "IAMUser", PrincipalID: "AIDACKCEVSQ6C2EXAMPLE", AccountID: "111122223333", UserName: "JohnDoe"}
	userOK := *user
	userOK.ARN = "arn:aws:iam::111122223333:user/JohnDoe"
	root := &event.UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"}
	hidden := &event.UserIdentity{Type: "IAMUser", AccountID: "111122223333", UserName: "HIDDEN_DUE_TO_SECURITY_REASONS"}
	tests := []struct {
		file string
		edit func(*SignIn)
	}{
		{"consolelogin-iamuser-success.json", func(s *SignIn) { s.Identity, s.Success = &userOK, true }},
		{"consolelogin-iamuser-failure.json", func(s *SignIn) { s.Identity = user }},
		{"consolelogin-iamuser-mfa-success.json", func(s *SignIn) {
			s.Identity, s.Success, s.MFAUsed, s.MFADevice = &userOK, true, true, "arn:aws:iam::111122223333:mfa/JohnDoe"
		}},
		{"consolelogin-root-success.json", func(s *SignIn) { s.Identity, s.Success = root, true }},
		{"consolelogin-root-failure.json", func(s *SignIn) { s.Identity = root }},
		{"consolelogin-unknown-user-failure.json", func(s *SignIn) { s.Identity = hidden }},
	}
	eventID := regexp.MustCompile(`"eventID":"[0-9a-f-]{36}"`)
	for _, tt := range tests {
		s := base
		tt.edit(&s)
		raw := s.Marshal()
		if _, err := event.Parse(raw); err != nil {
			t.Errorf("%s: cairn's own parser rejects it: %v", tt.file, err)
		}
		got := eventID.ReplaceAll(raw, []byte(`"eventID":"EXAMPLE"`))
		var pretty bytes.Buffer
		json.Indent(&pretty, got, "", "  ")
		pretty.WriteByte('\n')
		path := filepath.Join("testdata", tt.file)
		if *update {
			os.WriteFile(path, pretty.Bytes(), 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pretty.Bytes(), want) {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.file, pretty.Bytes(), want)
		}
	}
}
