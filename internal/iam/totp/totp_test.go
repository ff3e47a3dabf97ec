package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
	"time"
)

// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash's key size.
func TestRFC6238Vectors(t *testing.T) {
	seed1 := []byte("12345678901234567890")
	seed256 := []byte("12345678901234567890123456789012")
	seed512 := []byte("1234567890123456789012345678901234567890123456789012345678901234")
	tests := []struct {
		unix int64
		want map[string]string
	}{
		{59, map[string]string{"SHA1": "94287082", "SHA256": "46119246", "SHA512": "90693936"}},
		{1111111109, map[string]string{"SHA1": "07081804", "SHA256": "68084774", "SHA512": "25091201"}},
		{1111111111, map[string]string{"SHA1": "14050471", "SHA256": "67062674", "SHA512": "99943326"}},
		{1234567890, map[string]string{"SHA1": "89005924", "SHA256": "91819424", "SHA512": "93441116"}},
		{2000000000, map[string]string{"SHA1": "69279037", "SHA256": "90698825", "SHA512": "38618901"}},
		{20000000000, map[string]string{"SHA1": "65353130", "SHA256": "77737706", "SHA512": "47863826"}},
	}
	hashes := []struct {
		name string
		h    func() hash.Hash
		key  []byte
	}{{"SHA1", sha1.New, seed1}, {"SHA256", sha256.New, seed256}, {"SHA512", sha512.New, seed512}}
	for _, tt := range tests {
		for _, h := range hashes {
			got := Code(h.key, time.Unix(tt.unix, 0), Step, 8, h.h)
			if got != tt.want[h.name] {
				t.Errorf("T=%d %s: got %s, want %s", tt.unix, h.name, got, tt.want[h.name])
			}
		}
	}
}

// RFC 4226 Appendix D: HOTP values for counters 0..9.
func TestRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for c, w := range want {
		if got := hotp([]byte("12345678901234567890"), uint64(c), 6, sha1.New); got != w {
			t.Errorf("counter %d: got %s, want %s", c, got, w)
		}
	}
}

func TestVerify(t *testing.T) {
	key := NewKey()
	now := time.Unix(1_700_000_000, 0)
	code := Code(key, now, Step, 6, sha1.New)
	tests := []struct {
		name string
		code string
		at   time.Time
		want bool
	}{
		{"same step", code, now, true},
		{"one step late", code, now.Add(Step), true},
		{"one step early", code, now.Add(-Step), true},
		{"two steps late", code, now.Add(2 * Step), false},
		{"spaces trimmed", " " + code + " ", now, true},
		{"wrong length", code[:5], now, false},
		{"empty", "", now, false},
	}
	for _, tt := range tests {
		if got := Verify(key, tt.code, tt.at); got != tt.want {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	key := NewKey()
	got, err := Decode(Encode(key))
	if err != nil || string(got) != string(key) {
		t.Fatalf("round trip: %v %x %x", err, got, key)
	}
	if _, err := Decode("not base32!"); err == nil {
		t.Error("Decode accepted a bad key")
	}
	if _, err := Decode("abcd"); err == nil {
		t.Error("Decode accepted a short key")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("JBSWY3DPEHPK3PXP")
	f.Add("jbsw y3dp ehpk 3pxp")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Decode(s)
		if err == nil && len(k) < 10 {
			t.Fatalf("short key accepted: %x", k)
		}
	})
}
