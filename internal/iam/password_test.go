package iam

import (
	"errors"
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q: want an argon2id PHC string with cairn's parameters", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}, {strings.Repeat("x", 200), false}} {
		ok, err := VerifyPassword(h, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
		}
	}
}

// A hash made by another Argon2id implementation (the reference one's PHC output, RFC 9106
// parameters scaled down) verifies: the format is the standard one, not cairn's own.
func TestVerifyPasswordReference(t *testing.T) {
	// argon2 CLI: echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := VerifyPassword(ref, "password")
	if err != nil || !ok {
		t.Fatalf("reference hash: %v, %v", ok, err)
	}
}

func TestVerifyPasswordBadHash(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=16$m=1,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=8,t=1,p=1$!!$a2V5", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$"} {
		if _, err := VerifyPassword(h, "password"); !errors.Is(err, ErrBadHash) {
			t.Errorf("VerifyPassword(%q): err %v, want ErrBadHash", h, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	if err := CheckPassword("short"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short password: %v", err)
	}
	if err := CheckPassword(strings.Repeat("a", 129)); err == nil {
		t.Error("long password accepted")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("HashPassword accepted a short password")
	}
}

// FuzzParsePHC: any stored string either parses within bounds or is ErrBadHash; never a panic.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$a2V5")
	f.Add("$argon2id$v=19$m=-1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("error %v is not ErrBadHash", err)
			}
			return
		}
		if h.memory == 0 || h.memory > maxArgonMemory || h.time == 0 || h.threads == 0 || len(h.key) == 0 {
			t.Fatalf("accepted out-of-bounds parameters %+v", h)
		}
	})
}
