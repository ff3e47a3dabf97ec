// Package totp implements time-based one-time passwords (RFC 6238, over RFC 4226's HOTP), as
// authenticator apps use them for MFA: HMAC-SHA1, 6 digits, 30-second steps.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// Step is the time step authenticator apps use.
const Step = 30 * time.Second

// Code returns the digits-long code for key at time t with step and hash (sha1, sha256, sha512).
func Code(key []byte, t time.Time, step time.Duration, digits int, h func() hash.Hash) string {
	counter := uint64(t.Unix() / int64(step/time.Second))
	return hotp(key, counter, digits, h)
}

// hotp is RFC 4226 section 5.3: dynamic truncation of an HMAC over the counter.
func hotp(key []byte, counter uint64, digits int, h func() hash.Hash) string {
	mac := hmac.New(h, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// Hashes by the names otpauth URIs use.
var Hashes = map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}

// Verify reports whether code is valid for key at now, allowing one step of clock drift either
// way, as authenticator apps need. Compared in constant time.
func Verify(key []byte, code string, now time.Time) bool {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return false
	}
	ok := 0
	for d := -1; d <= 1; d++ {
		want := Code(key, now.Add(time.Duration(d)*Step), Step, 6, sha1.New)
		ok |= subtle.ConstantTimeCompare([]byte(want), []byte(code))
	}
	return ok == 1
}

// NewKey returns a random 160-bit key (RFC 4226 recommends the HMAC's output size).
func NewKey() []byte {
	k := make([]byte, 20)
	rand.Read(k)
	return k
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Encode renders key in base32 without padding, as authenticator apps expect it typed in.
func Encode(key []byte) string { return b32.EncodeToString(key) }

// Decode parses a base32 key, ignoring spaces and case.
func Decode(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimRight(s, "="), " ", ""))
	k, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("MFA key: not base32: %w", err)
	}
	if len(k) < 10 {
		return nil, fmt.Errorf("MFA key: %d bytes, want at least 10", len(k))
	}
	return k, nil
}

// URI is the otpauth:// URI an authenticator app imports (as a QR code or pasted).
func URI(issuer, account string, key []byte) string {
	label := url.PathEscape(issuer + ":" + account)
	v := url.Values{"secret": {Encode(key)}, "issuer": {issuer}}
	return "otpauth://totp/" + label + "?" + v.Encode()
}
