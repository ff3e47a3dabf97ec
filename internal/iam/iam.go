// Package iam holds cairn's accounts and access keys: who may call the API, with which secret,
// and as which principal their calls are recorded. Secrets are encrypted at rest with a key that
// lives outside the database (keys/secret.key, mode 0600). SigV4 verification is in iam/sigv4.
package iam

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/durable"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/iam/sigv4"
)

// ErrNotFound is returned for an account or key that does not exist.
var ErrNotFound = errors.New("not found")

// Principal is who signed a request.
type Principal struct {
	AccountID   string
	AccessKeyID string
	UserName    string // "" for the account's root user
	Operator    bool   // the bootstrap account, which operates cairn
}

// IsRoot reports whether the principal is the account's root user, whom no policy restricts.
func (p Principal) IsRoot() bool { return p.UserName == "" }

// ARN is the principal's IAM ARN.
func (p Principal) ARN() string {
	if p.UserName == "" {
		return "arn:aws:iam::" + p.AccountID + ":root"
	}
	return "arn:aws:iam::" + p.AccountID + ":user/" + p.UserName
}

// Identity is the userIdentity CloudTrail records for the principal's calls.
func (p Principal) Identity() *event.UserIdentity {
	if p.UserName == "" {
		return &event.UserIdentity{Type: "Root", PrincipalID: p.AccountID, ARN: p.ARN(), AccountID: p.AccountID, AccessKeyID: p.AccessKeyID}
	}
	return &event.UserIdentity{Type: "IAMUser", PrincipalID: p.AccessKeyID, ARN: p.ARN(), AccountID: p.AccountID,
		AccessKeyID: p.AccessKeyID, UserName: p.UserName}
}

// Store reads and writes accounts and keys in the control-plane database.
type Store struct {
	db   *sql.DB
	aead cipher.AEAD
	now  func() time.Time

	mu    sync.RWMutex
	cache map[string]cachedKey // access key ID → principal and secret; keys rarely change
}

type cachedKey struct {
	principal Principal
	secret    string
}

// NewStore opens the store over db, loading or creating the secret-encryption key in keyDir.
func NewStore(db *sql.DB, keyDir string) (*Store, error) {
	key, err := loadOrCreateKey(filepath.Join(keyDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, aead: aead, now: time.Now, cache: map[string]cachedKey{}}, nil
}

// MasterKey returns cairn's master key, keys/secret.key under keyDir, creating it on first use.
// It encrypts secrets at rest: access keys here, the Lake's KMS keys (internal/lake).
func MasterKey(keyDir string) ([]byte, error) {
	return loadOrCreateKey(filepath.Join(keyDir, "secret.key"))
}

func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("secret key %s: %d bytes, want 32", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := durable.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, nil
}

// Account is one account.
type Account struct {
	ID       string
	Alias    string
	Operator bool
	Created  time.Time
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateAccount adds an account with a 12-digit ID.
func (s *Store) CreateAccount(ctx context.Context, id, alias string, operator bool) error {
	return s.createAccount(ctx, s.db, id, alias, operator)
}

func (s *Store) createAccount(ctx context.Context, db execer, id, alias string, operator bool) error {
	if !event.IsAccountID(id) {
		return fmt.Errorf("account ID %q: want 12 digits", id)
	}
	var a any
	if alias != "" {
		a = alias
	}
	_, err := db.ExecContext(ctx, `INSERT INTO accounts (id, alias, operator, created_at) VALUES (?, ?, ?, ?)`,
		id, a, operator, s.now().UTC().Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("create account %s: %w", id, err)
	}
	return nil
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, COALESCE(alias, ''), operator, created_at FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var created string
		if err := rows.Scan(&a.ID, &a.Alias, &a.Operator, &created); err != nil {
			return nil, err
		}
		a.Created, _ = time.Parse(time.RFC3339, created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccessKey is a newly created key; the secret is shown only here.
type AccessKey struct {
	ID, Secret, AccountID, UserName string
}

// CreateAccessKey stores an access key for the account's root user (userName "") or a user.
// Empty id and secret are generated in AWS's formats.
func (s *Store) CreateAccessKey(ctx context.Context, accountID, userName, id, secret string) (AccessKey, error) {
	return s.createAccessKey(ctx, s.db, accountID, userName, id, secret)
}

func (s *Store) createAccessKey(ctx context.Context, db execer, accountID, userName, id, secret string) (AccessKey, error) {
	if id == "" {
		id = "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	}
	if secret == "" {
		secret = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	}
	if len(id) < 16 || len(id) > 128 {
		return AccessKey{}, fmt.Errorf("access key ID %q: want 16 to 128 characters", id)
	}
	if len(secret) < 16 {
		return AccessKey{}, fmt.Errorf("secret access key for %s: want at least 16 characters", id)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return AccessKey{}, err
	}
	// The key ID is authenticated data, so a ciphertext cannot be moved to another key's row.
	sealed := s.aead.Seal(nonce, nonce, []byte(secret), []byte(id))
	_, err := db.ExecContext(ctx, `INSERT INTO access_keys (id, account_id, user_name, secret_encrypted, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, accountID, userName, sealed, s.now().UTC().Format(time.RFC3339))
	if err != nil {
		return AccessKey{}, fmt.Errorf("create access key for account %s: %w", accountID, err)
	}
	return AccessKey{ID: id, Secret: secret, AccountID: accountID, UserName: userName}, nil
}

// Lookup returns the principal and secret of an active access key. Unknown or inactive keys wrap
// sigv4.ErrUnknownAccessKey.
func (s *Store) Lookup(ctx context.Context, keyID string) (Principal, string, error) {
	s.mu.RLock()
	c, ok := s.cache[keyID]
	s.mu.RUnlock()
	if ok {
		return c.principal, c.secret, nil
	}
	var p Principal
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT k.account_id, k.user_name, k.secret_encrypted, a.operator
		FROM access_keys k JOIN accounts a ON a.id = k.account_id WHERE k.id = ? AND k.status = 'Active'`, keyID).
		Scan(&p.AccountID, &p.UserName, &sealed, &p.Operator)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, "", fmt.Errorf("access key %s: %w", keyID, sigv4.ErrUnknownAccessKey)
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("look up access key %s: %w", keyID, err)
	}
	ns := s.aead.NonceSize()
	if len(sealed) < ns {
		return Principal{}, "", fmt.Errorf("access key %s: stored secret is damaged", keyID)
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(keyID))
	if err != nil {
		return Principal{}, "", fmt.Errorf("access key %s: cannot decrypt its secret (wrong keys/secret.key?): %w", keyID, err)
	}
	p.AccessKeyID = keyID
	s.mu.Lock()
	s.cache[keyID] = cachedKey{principal: p, secret: string(plain)}
	s.mu.Unlock()
	return p, string(plain), nil
}

// Secret is Lookup shaped for sigv4.Verifier.
func (s *Store) Secret(ctx context.Context, keyID string) (string, error) {
	_, secret, err := s.Lookup(ctx, keyID)
	return secret, err
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// RandomAccountID returns a random 12-digit account ID that does not start with 0.
func RandomAccountID() string {
	return randomString(1, "123456789") + randomString(11, "0123456789")
}
