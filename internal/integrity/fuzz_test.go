package integrity

import (
	"testing"
)

// ParseDigest must never panic, whatever the bytes, and must fail with ErrFormat on anything
// that is not a digest.
func FuzzParseDigest(f *testing.F) {
	f.Add(gz([]byte(`{"digestPublicKeyFingerprint":"x","digestS3Bucket":"b","digestS3Object":"o","previousDigestSignature":null,"digestEndTime":"2026-01-01T00:00:00Z","digestStartTime":"2026-01-01T00:00:00Z","logFiles":[]}`)))
	f.Add(gz([]byte(`{"logFiles":[{"s3Bucket":1}]}`)))
	f.Add(gz([]byte(`[]`)))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseDigest(b)
		if err == nil && p == nil {
			t.Fatal("nil digest without error")
		}
	})
}
