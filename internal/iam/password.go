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

// phc is a parsed Argon2id PHC string.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// maxArgonMemory bounds the memory a stored hash may ask for (KiB): a damaged or planted hash
// must not make a sign-in allocate gigabytes.
const maxArgonMemory = 256 * 1024

// parsePHC reads $argon2id$v=19$m=…,t=…,p=…$salt$key.
func parsePHC(hash string) (phc, error) {
	var h phc
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: not an argon2id PHC string", ErrBadHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil ||
		h.memory == 0 || h.time == 0 || h.time > 16 || h.threads == 0 || h.memory > maxArgonMemory {
		return h, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) == 0 || len(h.key) > 64 {
		return h, fmt.Errorf("%w: key", ErrBadHash)
	}
	return h, nil
}

// VerifyPassword reports whether password matches the PHC-format hash, in constant time.
func VerifyPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLength {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}
