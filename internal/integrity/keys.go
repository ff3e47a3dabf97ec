package integrity

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/durable"
)

// DefaultValidity is how long a signing key signs digests before a new one replaces it; AWS's
// published keys are valid 30 days.
const DefaultValidity = 30 * 24 * time.Hour

// keyBits is the size of generated keys; AWS's published keys are 2048-bit.
const keyBits = 2048

// PublicKey is a signing key as ListPublicKeys returns it.
type PublicKey struct {
	DER         []byte // PKCS #1 RSAPublicKey, DER: what ListPublicKeys returns as Value
	Fingerprint string // lowercase hex MD5 of DER
	ValidFrom   time.Time
	ValidTo     time.Time
	Key         *rsa.PublicKey
}

// NewPublicKey describes pub with its fingerprint.
func NewPublicKey(pub *rsa.PublicKey, from, to time.Time) PublicKey {
	der := x509.MarshalPKCS1PublicKey(pub)
	return PublicKey{DER: der, Fingerprint: Fingerprint(der), ValidFrom: from, ValidTo: to, Key: pub}
}

// Fingerprint is CloudTrail's key fingerprint: the lowercase hex MD5 of the DER bytes exactly as
// ListPublicKeys returns them.
func Fingerprint(der []byte) string {
	sum := md5.Sum(der)
	return hex.EncodeToString(sum[:])
}

// ParsePublicKey reads a ListPublicKeys Value: PKCS #1 (what AWS and cairn return) or, as one
// older AWS sample shows, an X.509 SubjectPublicKeyInfo.
func ParsePublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("unable to load PKCS #1 key")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("unable to load PKCS #1 key: not an RSA key")
	}
	return rk, nil
}

// Key is a private signing key of one region.
type Key struct {
	Region  string
	Public  PublicKey
	private *rsa.PrivateKey
}

// Keyring holds the digest signing keys of every region under a directory: dir/<region>/
// <valid-from unix seconds>.pem, PKCS #1 private keys, mode 0600. Keys are created on first use
// and replaced when their validity ends; old keys stay so that ListPublicKeys can return every
// key that signed digests in a range. Safe for concurrent use.
type Keyring struct {
	dir      string
	validity time.Duration

	mu   sync.Mutex
	keys map[string][]*Key // region → keys, oldest first
}

// OpenKeyring loads the keys in dir (created if missing). validity 0 means DefaultValidity.
func OpenKeyring(dir string, validity time.Duration) (*Keyring, error) {
	if validity <= 0 {
		validity = DefaultValidity
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("integrity: create key directory: %w", err)
	}
	kr := &Keyring{dir: dir, validity: validity, keys: map[string][]*Key{}}
	regions, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("integrity: read key directory: %w", err)
	}
	for _, r := range regions {
		if !r.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, r.Name()))
		if err != nil {
			return nil, fmt.Errorf("integrity: read keys of %s: %w", r.Name(), err)
		}
		for _, f := range files {
			name := f.Name()
			if !strings.HasSuffix(name, ".pem") {
				continue
			}
			from, err := strconv.ParseInt(strings.TrimSuffix(name, ".pem"), 10, 64)
			if err != nil {
				continue
			}
			k, err := loadKey(filepath.Join(dir, r.Name(), name), r.Name(), time.Unix(from, 0).UTC(), validity)
			if err != nil {
				return nil, err
			}
			kr.keys[r.Name()] = append(kr.keys[r.Name()], k)
		}
		sort.Slice(kr.keys[r.Name()], func(i, j int) bool {
			return kr.keys[r.Name()][i].Public.ValidFrom.Before(kr.keys[r.Name()][j].Public.ValidFrom)
		})
	}
	return kr, nil
}

func loadKey(path, region string, from time.Time, validity time.Duration) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("integrity: read signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("integrity: signing key %s is not PEM", path)
	}
	priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("integrity: signing key %s: %w", path, err)
	}
	return &Key{Region: region, private: priv, Public: NewPublicKey(&priv.PublicKey, from, from.Add(validity))}, nil
}

// Signer returns the key that signs region's digests at time now, creating (and persisting)
// a new one when there is none or the newest has expired.
func (kr *Keyring) Signer(region string, now time.Time) (*Key, error) {
	if !validRegionName(region) {
		return nil, fmt.Errorf("integrity: %q is not a region name", region)
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	keys := kr.keys[region]
	if n := len(keys); n > 0 {
		k := keys[n-1]
		if !now.Before(k.Public.ValidFrom) && now.Before(k.Public.ValidTo) {
			return k, nil
		}
	}
	from := now.UTC().Truncate(time.Second)
	if n := len(keys); n > 0 && !from.After(keys[n-1].Public.ValidFrom) {
		from = keys[n-1].Public.ValidFrom.Add(time.Second)
	}
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("integrity: generate signing key: %w", err)
	}
	dir := filepath.Join(kr.dir, region)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("integrity: create key directory: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
	if err := durable.WriteFile(filepath.Join(dir, strconv.FormatInt(from.Unix(), 10)+".pem"), pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("integrity: store signing key: %w", err)
	}
	k := &Key{Region: region, private: priv, Public: NewPublicKey(&priv.PublicKey, from, from.Add(kr.validity))}
	kr.keys[region] = append(keys, k)
	return k, nil
}

// PublicKeys returns region's keys whose validity overlaps [start, end], oldest first. A range
// that includes now always yields the current key (creating it), as AWS does.
func (kr *Keyring) PublicKeys(region string, start, end, now time.Time) ([]PublicKey, error) {
	if !now.Before(start) && !now.After(end) {
		if _, err := kr.Signer(region, now); err != nil {
			return nil, err
		}
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var out []PublicKey
	for _, k := range kr.keys[region] {
		if !k.Public.ValidTo.Before(start) && !k.Public.ValidFrom.After(end) {
			out = append(out, k.Public)
		}
	}
	return out, nil
}

func validRegionName(s string) bool {
	if len(s) < 3 || len(s) > 32 || !strings.Contains(s, "-") || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Provider returns the KeyProvider of one region's keys, for validating without the API.
func (kr *Keyring) Provider(region string) KeyProvider { return regionKeys{kr, region} }

type regionKeys struct {
	kr     *Keyring
	region string
}

func (r regionKeys) PublicKeys(ctx context.Context, start, end time.Time) ([]PublicKey, error) {
	return r.kr.PublicKeys(r.region, start, end, time.Now())
}

// Known returns every key the keyring holds, in every region, without creating any: the keys
// that can have signed digests cairn wrote.
func (kr *Keyring) Known() []PublicKey {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var out []PublicKey
	for _, keys := range kr.keys {
		for _, k := range keys {
			out = append(out, k.Public)
		}
	}
	return out
}

// ParsePublicKeyFile reads public keys from a file a user gives: PEM blocks ("RSA PUBLIC KEY"
// or "PUBLIC KEY"), one DER key, the base64 of one (what `aws cloudtrail list-public-keys
// --query 'PublicKeyList[0].Value' --output text` prints), or the JSON that
// `aws cloudtrail list-public-keys` prints (every key of PublicKeyList).
func ParsePublicKeyFile(data []byte) ([]PublicKey, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("no public key: the file is empty")
	case trimmed[0] == '{':
		var out struct {
			PublicKeyList []struct {
				Value             []byte // base64 in JSON
				ValidityStartTime *time.Time
				ValidityEndTime   *time.Time
				Fingerprint       string
			}
		}
		if err := json.Unmarshal(trimmed, &out); err != nil {
			return nil, fmt.Errorf("not the JSON of aws cloudtrail list-public-keys: %w", err)
		}
		if len(out.PublicKeyList) == 0 {
			return nil, errors.New("no public key: PublicKeyList is empty")
		}
		var keys []PublicKey
		for i, v := range out.PublicKeyList {
			k, err := publicKeyFromDER(v.Value)
			if err != nil {
				return nil, fmt.Errorf("PublicKeyList[%d]: %w", i, err)
			}
			if v.Fingerprint != "" && v.Fingerprint != k.Fingerprint {
				return nil, fmt.Errorf("PublicKeyList[%d]: the fingerprint %s is not the key's (%s)", i, v.Fingerprint, k.Fingerprint)
			}
			if v.ValidityStartTime != nil && v.ValidityEndTime != nil {
				k.ValidFrom, k.ValidTo = *v.ValidityStartTime, *v.ValidityEndTime
			}
			keys = append(keys, k)
		}
		return keys, nil
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		var keys []PublicKey
		rest := trimmed
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "RSA PUBLIC KEY" && block.Type != "PUBLIC KEY" {
				return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
			}
			k, err := publicKeyFromDER(block.Bytes)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, errors.New("no PEM block")
		}
		return keys, nil
	}
	if k, err := publicKeyFromDER(data); err == nil {
		return []PublicKey{k}, nil
	}
	der, err := base64.StdEncoding.DecodeString(string(trimmed))
	if err != nil {
		return nil, errors.New("neither PEM, DER, base64 DER nor the JSON of aws cloudtrail list-public-keys")
	}
	k, err := publicKeyFromDER(der)
	if err != nil {
		return nil, err
	}
	return []PublicKey{k}, nil
}

// publicKeyFromDER describes a PKCS #1 or SubjectPublicKeyInfo key; the fingerprint is over
// the PKCS #1 form, as CloudTrail's is.
func publicKeyFromDER(der []byte) (PublicKey, error) {
	rk, err := ParsePublicKey(der)
	if err != nil {
		return PublicKey{}, err
	}
	return NewPublicKey(rk, time.Time{}, time.Time{}), nil
}
