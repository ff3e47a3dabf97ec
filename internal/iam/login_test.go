package iam

import (
	"context"
	"crypto/sha1"
	"errors"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/iam/totp"
)

func TestSignIn(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	admin, err := s.Bootstrap(ctx, BootstrapConfig{AccountID: "111122223333", ConsolePassword: "root-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if admin.ConsolePassword != "root-password-1" {
		t.Fatalf("bootstrap password %q", admin.ConsolePassword)
	}
	if _, err := s.db.Exec(`UPDATE accounts SET alias = 'ops' WHERE id = '111122223333'`); err != nil {
		t.Fatal(err)
	}
	// A password is for a user that exists.
	if err := s.SetPassword(ctx, "111122223333", "alice", "alice-password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("password for a user who does not exist: %v", err)
	}
	alice, err := s.CreateUser(ctx, "111122223333", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "111122223333", "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, account, user, password string
		ok, known                     bool
		wantUser                      string
	}{
		{"root by ID", "111122223333", "root", "root-password-1", true, true, ""},
		{"root by alias", "ops", "root", "root-password-1", true, true, ""},
		{"user", "111122223333", "alice", "alice-password", true, true, "alice"},
		{"wrong password", "111122223333", "alice", "nope-nope", false, true, "alice"},
		{"unknown user", "111122223333", "bob", "whatever1", false, false, "bob"},
		{"unknown account", "999999999999", "alice", "alice-password", false, false, ""},
		{"bad user name", "111122223333", "a b", "alice-password", false, false, ""},
	}
	for _, tt := range tests {
		a, err := s.SignIn(ctx, tt.account, tt.user, tt.password, "")
		if tt.ok != (err == nil) {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, ErrFailedAuthentication) {
			t.Errorf("%s: err %v, want ErrFailedAuthentication", tt.name, err)
		}
		if a.Known != tt.known || (tt.known && a.UserName != tt.wantUser) {
			t.Errorf("%s: attempt %+v", tt.name, a)
		}
	}
	// The user's principal ID is the user's IAM unique ID; root's is the account.
	a, _ := s.SignIn(ctx, "111122223333", "alice", "alice-password", "")
	if a.PrincipalID != alice.ID {
		t.Errorf("principal ID %q", a.PrincipalID)
	}
	if id := a.Identity(true); id.Type != "IAMUser" || id.ARN != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("identity %+v", id)
	}
	if id := (Attempt{AccountID: "111122223333"}).Identity(false); id.UserName != HiddenUserName {
		t.Errorf("unknown user identity %+v", id)
	}
}

func TestLockout(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return now }
	if _, err := s.Bootstrap(ctx, BootstrapConfig{AccountID: "111122223333", ConsolePassword: "root-password-1"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= LockoutThreshold; i++ {
		a, err := s.SignIn(ctx, "111122223333", "root", "wrong-password", "")
		if err == nil {
			t.Fatal("wrong password accepted")
		}
		if a.Locked != (i == LockoutThreshold) {
			t.Errorf("failure %d: locked %v", i, a.Locked)
		}
	}
	// Locked: even the right password fails, and says so in the reason.
	a, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", "")
	if err == nil || !a.Locked {
		t.Fatalf("locked profile accepted the right password: %v %+v", err, a)
	}
	now = now.Add(LockoutDuration + time.Second)
	if _, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", ""); err != nil {
		t.Fatalf("after the lock-out: %v", err)
	}
	p, _ := s.LoginProfile(ctx, "111122223333", "root")
	if p.FailedAttempts != 0 {
		t.Errorf("failed attempts %d after a success", p.FailedAttempts)
	}
	// Setting a password clears a lock-out.
	for range LockoutThreshold {
		s.SignIn(ctx, "111122223333", "root", "wrong-password", "")
	}
	if err := s.SetPassword(ctx, "111122223333", "root", "new-password-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "111122223333", "root", "new-password-2", ""); err != nil {
		t.Errorf("after a password reset: %v", err)
	}
}

func TestMFA(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	if _, err := s.Bootstrap(ctx, BootstrapConfig{AccountID: "111122223333", ConsolePassword: "root-password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnableMFA(ctx, "111122223333", "nobody"); !errors.Is(err, ErrNoLoginProfile) {
		t.Errorf("MFA for a user without a profile: %v", err)
	}
	key, err := s.EnableMFA(ctx, "111122223333", "root")
	if err != nil {
		t.Fatal(err)
	}
	code := totp.Code(key, now, totp.Step, 6, sha1.New)
	if a, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", ""); err == nil || !a.MFAUsed {
		t.Errorf("no code: %v %+v", err, a)
	}
	if _, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", "000000"); err == nil && code != "000000" {
		t.Error("wrong code accepted")
	}
	a, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", code)
	if err != nil || !a.MFAUsed {
		t.Errorf("right code: %v %+v", err, a)
	}
	if err := s.DisableMFA(ctx, "111122223333", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "111122223333", "root", "root-password-1", ""); err != nil {
		t.Errorf("MFA disabled: %v", err)
	}
}
