package iam

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/internal/iam/sigv4"
	"github.com/cairn-dev/cairn/internal/meta"
)

func newStore(t testing.TB, dir string) *Store {
	t.Helper()
	db, err := meta.Open(context.Background(), filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := NewStore(db, filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newStore(t, dir)
	admin, err := s.Bootstrap(ctx, BootstrapConfig{})
	if err != nil || admin == nil {
		t.Fatalf("bootstrap: %v %v", admin, err)
	}
	if len(admin.AccountID) != 12 || !strings.HasPrefix(admin.AccessKeyID, "AKIA") || len(admin.AccessKeyID) != 20 || len(admin.SecretAccessKey) != 40 {
		t.Errorf("bad admin %+v", admin)
	}
	p, secret, err := s.Lookup(ctx, admin.AccessKeyID)
	if err != nil || secret != admin.SecretAccessKey || p.AccountID != admin.AccountID || !p.Operator || p.UserName != "" {
		t.Fatalf("lookup: %+v %q %v", p, secret, err)
	}
	if again, err := s.Bootstrap(ctx, BootstrapConfig{}); err != nil || again != nil {
		t.Errorf("second bootstrap: %v %v", again, err)
	}
	// The secret is not in the database in plain text.
	raw, _ := os.ReadFile(filepath.Join(dir, "meta.sqlite"))
	if strings.Contains(string(raw), admin.SecretAccessKey) {
		t.Error("secret stored in plain text")
	}
	st, err := os.Stat(filepath.Join(dir, "keys", "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret.key: %v %v", st, err)
	}
	// A fresh store (cold cache) decrypts with the same key file.
	s2 := newStore(t, dir)
	if _, secret, err := s2.Lookup(ctx, admin.AccessKeyID); err != nil || secret != admin.SecretAccessKey {
		t.Errorf("reopened lookup: %q %v", secret, err)
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	s := newStore(t, t.TempDir())
	admin, err := s.Bootstrap(context.Background(), BootstrapConfig{AccountID: "111122223333", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	if err != nil || admin.AccountID != "111122223333" || admin.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("%+v %v", admin, err)
	}
	s2 := newStore(t, t.TempDir())
	if _, err := s2.Bootstrap(context.Background(), BootstrapConfig{AccountID: "12"}); err == nil {
		t.Error("bad account ID accepted")
	}
	if _, err := s2.Bootstrap(context.Background(), BootstrapConfig{AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}); err == nil {
		t.Error("key without secret accepted")
	}
	if accts, _ := s2.Accounts(context.Background()); len(accts) != 0 {
		t.Errorf("failed bootstrap left accounts %v", accts)
	}
}

func TestUnknownKey(t *testing.T) {
	s := newStore(t, t.TempDir())
	if _, _, err := s.Lookup(context.Background(), "AKIANOSUCHKEY0000000"); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Errorf("got %v, want ErrUnknownAccessKey", err)
	}
}

func TestIdentity(t *testing.T) {
	root := Principal{AccountID: "111122223333", AccessKeyID: "AKIA1"}
	if id := root.Identity(); id.Type != "Root" || id.ARN != "arn:aws:iam::111122223333:root" || id.PrincipalID != "111122223333" {
		t.Errorf("root identity %+v", id)
	}
	user := Principal{AccountID: "111122223333", AccessKeyID: "AKIA2", UserName: "alice"}
	if id := user.Identity(); id.Type != "IAMUser" || id.ARN != "arn:aws:iam::111122223333:user/alice" || id.UserName != "alice" {
		t.Errorf("user identity %+v", id)
	}
}
