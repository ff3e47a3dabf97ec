package lake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/durable"
)

// Keyring holds the keys that encrypt event data stores created with a KmsKeyId. cairn manages
// them as KMS would: the first store that names a key in an account creates it. Each key is a
// random 256-bit AES key in its own file under the keyring's directory (<data>/keys/lake),
// sealed with cairn's master key (keys/secret.key), so the databases alone, copied without
// keys/, are unreadable. Each store has its own data key, sealed with the named key and kept with
// the store's metadata (envelope encryption, as KMS does it).
type Keyring struct {
	dir    string
	master cipher.AEAD

	mu   sync.Mutex
	keys map[string]cipher.AEAD // account + "/" + key ID → the named key
}

// OpenKeyring uses dir for key files and masterKey (32 bytes) to seal them.
func OpenKeyring(dir string, masterKey []byte) (*Keyring, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, fmt.Errorf("lake keyring: master key: %w", err)
	}
	return &Keyring{dir: dir, master: aead, keys: map[string]cipher.AEAD{}}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(a cipher.AEAD, plain, aad []byte) []byte {
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return a.Seal(nonce, nonce, plain, aad)
}

func open(a cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, errors.New("ciphertext too short")
	}
	return a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], aad)
}

var (
	kmsKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9._/\-:]+$`)
	kmsARN        = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:(\d{12}):(alias/[a-zA-Z0-9/_-]+|key/[a-zA-Z0-9-]+)$`)
	kmsAlias      = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)
	kmsKeyUUID    = regexp.MustCompile(`^(mrk-)?[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$|^mrk-[a-f0-9]{32}$`)
)

// normalizeKeyID reduces the four ways to name a KMS key (alias/Name, an alias ARN, a key ARN, a
// key ID) to the name cairn files it under, and checks the account an ARN names.
func normalizeKeyID(account, id string) (string, error) {
	if len(id) < 1 || len(id) > 350 || !kmsKeyPattern.MatchString(id) {
		return "", fail(ErrInvalidKmsKeyID, "KmsKeyId %q is not a KMS key: use alias/Name, an alias or key ARN, or a key ID", id)
	}
	if m := kmsARN.FindStringSubmatch(id); m != nil {
		if m[1] != account {
			return "", fail(ErrInvalidKmsKeyID, "KmsKeyId %s belongs to account %s; cairn manages keys per account and this store is in %s", id, m[1], account)
		}
		return strings.TrimPrefix(m[2], "key/"), nil
	}
	if kmsAlias.MatchString(id) || kmsKeyUUID.MatchString(id) {
		return id, nil
	}
	return "", fail(ErrInvalidKmsKeyID, "KmsKeyId %q is not a KMS key: use alias/Name, an alias or key ARN, or a key ID", id)
}

type keyFile struct {
	Account string    `json:"account"`
	KeyID   string    `json:"keyId"`
	Created time.Time `json:"created"`
	Key     []byte    `json:"sealedKey"` // AES-256 key sealed with the master key
}

func (k *Keyring) path(account, keyID string) string {
	sum := sha256.Sum256([]byte(keyID))
	return filepath.Join(k.dir, account, hex.EncodeToString(sum[:16])+".json")
}

func keyAAD(account, keyID string) []byte {
	return []byte("cairn lake key\x00" + account + "\x00" + keyID)
}

// named returns the key keyID of account, creating it when create is set.
func (k *Keyring) named(account, keyID string, create bool) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if a, ok := k.keys[account+"/"+keyID]; ok {
		return a, nil
	}
	path := k.path(account, keyID)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var f keyFile
		if err := json.Unmarshal(b, &f); err != nil || f.KeyID != keyID || f.Account != account {
			return nil, fail(ErrKms, "the key file %s for %s is damaged", path, keyID)
		}
		plain, err := open(k.master, f.Key, keyAAD(account, keyID))
		if err != nil {
			return nil, fail(ErrKms, "the key %s cannot be unsealed with this cairn's master key (keys/secret.key)", keyID)
		}
		a, err := newAEAD(plain)
		if err != nil {
			return nil, err
		}
		k.keys[account+"/"+keyID] = a
		return a, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read key %s: %w", keyID, err)
	case !create:
		return nil, fail(ErrKms, "the KMS key %s of account %s no longer exists in %s; the data encrypted with it cannot be read", keyID, account, k.dir)
	}
	plain := make([]byte, 32)
	if _, err := rand.Read(plain); err != nil {
		return nil, err
	}
	f := keyFile{Account: account, KeyID: keyID, Created: time.Now().UTC(), Key: seal(k.master, plain, keyAAD(account, keyID))}
	b, _ = json.MarshalIndent(f, "", "  ")
	if err := durable.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("store key %s: %w", keyID, err)
	}
	a, err := newAEAD(plain)
	if err != nil {
		return nil, err
	}
	k.keys[account+"/"+keyID] = a
	return a, nil
}

func dataKeyAAD(storeID string) []byte { return []byte("cairn lake data key\x00" + storeID) }

// newDataKey creates a store's data key: the key itself, and the key sealed with keyID.
func (k *Keyring) newDataKey(account, keyID, storeID string) (cipher.AEAD, []byte, error) {
	named, err := k.named(account, keyID, true)
	if err != nil {
		return nil, nil, err
	}
	plain := make([]byte, 32)
	if _, err := rand.Read(plain); err != nil {
		return nil, nil, err
	}
	a, err := newAEAD(plain)
	if err != nil {
		return nil, nil, err
	}
	return a, seal(named, plain, dataKeyAAD(storeID)), nil
}

// dataKey unseals a store's data key with keyID.
func (k *Keyring) dataKey(account, keyID, storeID string, sealed []byte) (cipher.AEAD, error) {
	named, err := k.named(account, keyID, false)
	if err != nil {
		return nil, err
	}
	plain, err := open(named, sealed, dataKeyAAD(storeID))
	if err != nil {
		return nil, fail(ErrKms, "the data key of event data store %s does not open with KMS key %s", storeID, keyID)
	}
	return newAEAD(plain)
}
