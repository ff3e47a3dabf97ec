package iam

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for console passwords: OWASP's recommended minimum (19 MiB, 2 passes,
// 1 lane), about 30 ms on one core, so a sign-in costs little and a stolen hash costs a lot.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

// Password length limits: AWS's default password policy asks for 8; the upper bound keeps the
// KDF's input (and the request) small.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

// ErrBadHash reports a stored password hash cairn cannot read.
var ErrBadHash = errors.New("unreadable password hash")

var b64 = base64.RawStdEncoding

// HashPassword returns password hashed with Argon2id in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), which records its parameters so they can change.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword says what is wrong with a new password, if anything.
func CheckPassword(password string) error {
	switch n := len(password); {
	case n < MinPasswordLength:
		return fmt.Errorf("password is %d characters long; it must have at least %d", n, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("password is %d characters long; it must have at most %d", n, MaxPasswordLength)
	}
	return nil
}

// VerifyPassword reports whether password matches the PHC-format hash, in constant time.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, fmt.Errorf("%w: not an argon2id PHC string", ErrBadHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 {
		return false, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("%w: key", ErrBadHash)
	}
	if len(password) > MaxPasswordLength {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
