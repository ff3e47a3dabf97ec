package integrity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

var testKeys struct {
	a, b *rsa.PrivateKey
}

func testKey(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	if testKeys.a == nil {
		var err error
		if testKeys.a, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			t.Fatal(err)
		}
		if testKeys.b, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
			t.Fatal(err)
		}
	}
	return testKeys.a, testKeys.b
}

// publicKeyFileSeeds are the forms --public-key accepts, for the same two keys.
func publicKeyFileSeeds(t testing.TB) map[string][]byte {
	a, b := testKey(t)
	derA, derB := x509.MarshalPKCS1PublicKey(&a.PublicKey), x509.MarshalPKCS1PublicKey(&b.PublicKey)
	spkiA, _ := x509.MarshalPKIXPublicKey(&a.PublicKey)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	list, _ := json.Marshal(map[string]any{"PublicKeyList": []map[string]any{
		{"Value": base64.StdEncoding.EncodeToString(derA), "ValidityStartTime": from, "ValidityEndTime": from.Add(DefaultValidity), "Fingerprint": Fingerprint(derA)},
		{"Value": base64.StdEncoding.EncodeToString(derB), "Fingerprint": Fingerprint(derB)},
	}})
	return map[string][]byte{
		"der":              derA,
		"base64 der":       []byte(base64.StdEncoding.EncodeToString(derA) + "\n"),
		"pem pkcs1":        pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: derA}),
		"pem spki":         pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spkiA}),
		"pem, two":         append(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: derA}), pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: derB})...),
		"list-public-keys": list,
	}
}

func TestParsePublicKeyFile(t *testing.T) {
	a, b := testKey(t)
	fpA, fpB := Fingerprint(x509.MarshalPKCS1PublicKey(&a.PublicKey)), Fingerprint(x509.MarshalPKCS1PublicKey(&b.PublicKey))
	want := map[string][]string{"der": {fpA}, "base64 der": {fpA}, "pem pkcs1": {fpA}, "pem spki": {fpA}, "pem, two": {fpA, fpB}, "list-public-keys": {fpA, fpB}}
	for name, data := range publicKeyFileSeeds(t) {
		keys, err := ParsePublicKeyFile(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, k := range keys {
			got = append(got, k.Fingerprint)
		}
		if strings.Join(got, ",") != strings.Join(want[name], ",") {
			t.Errorf("%s: fingerprints %v, want %v", name, got, want[name])
		}
	}
	bad := map[string]string{
		"":                                     "empty",
		"hello":                                "neither PEM",
		`{"PublicKeyList":[]}`:                 "PublicKeyList is empty",
		`{"PublicKeyList":[{"Value":"AAAA"}]}`: "PublicKeyList[0]",
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n": "not a public key",
	}
	for in, msg := range bad {
		if _, err := ParsePublicKeyFile([]byte(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParsePublicKeyFile(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
	// A fingerprint that is not the key's is an error, not a key under a wrong name.
	derA := x509.MarshalPKCS1PublicKey(&a.PublicKey)
	lie, _ := json.Marshal(map[string]any{"PublicKeyList": []map[string]any{{"Value": derA, "Fingerprint": fpB}}})
	if _, err := ParsePublicKeyFile(lie); err == nil || !strings.Contains(err.Error(), "is not the key's") {
		t.Errorf("mismatched fingerprint: %v", err)
	}
}
