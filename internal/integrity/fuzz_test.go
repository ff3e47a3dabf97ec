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

// ParsePublicKeyFile reads what users give with --public-key: it must never panic, and every
// key it returns must be usable.
func FuzzParsePublicKeyFile(f *testing.F) {
	for _, s := range publicKeyFileSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"PublicKeyList":[{"Value":"AAAA"}]}`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParsePublicKeyFile(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no keys without error")
		}
		for _, k := range keys {
			if k.Key == nil || k.Fingerprint != Fingerprint(k.DER) {
				t.Fatalf("unusable key %+v", k)
			}
		}
	})
}
