package iam

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/iam/totp"
)

// Console sign-in errors. Every failure a person at the sign-in form sees is
// ErrFailedAuthentication (as AWS: the form never says which part was wrong); Attempt says why.
var (
	ErrFailedAuthentication = errors.New("failed authentication")
	ErrNoLoginProfile       = errors.New("no login profile")
)

// Lock-out: after LockoutThreshold consecutive failures a login profile refuses sign-in for
// LockoutDuration, even with the right password, which stops online guessing.
const (
	LockoutThreshold = 5
	LockoutDuration  = 15 * time.Minute
)

// RootUserName is what a person types as the user name to sign in as the account's root user.
const RootUserName = "root"

// HiddenUserName is what CloudTrail records as the user name of a sign-in to a user that does
// not exist, so typos of passwords in the user name field are not logged.
const HiddenUserName = "HIDDEN_DUE_TO_SECURITY_REASONS"

var userNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// Attempt is the outcome of one sign-in, success or not: what the ConsoleLogin event records.
type Attempt struct {
	AccountID   string // the account signed in to (as typed when it does not exist)
	Account     bool   // the account exists
	UserName    string // "" for root
	PrincipalID string
	Known       bool // the account and user exist and have a login profile
	MFAUsed     bool // the profile has an MFA device, so a code was required
	Locked      bool // refused because of lock-out (this attempt may have caused it)
	Reason      string
}

// MFADevice is the ARN of the user's MFA device, as CloudTrail names it in MFAIdentifier.
func (a Attempt) MFADevice() string {
	if !a.MFAUsed {
		return ""
	}
	if a.UserName == "" {
		return "arn:aws:iam::" + a.AccountID + ":mfa/root-account-mfa-device"
	}
	return "arn:aws:iam::" + a.AccountID + ":mfa/" + a.UserName
}

// Principal is who signed in, for a successful attempt.
func (a Attempt) Principal(operator bool) Principal {
	return Principal{AccountID: a.AccountID, UserName: a.UserName, Operator: operator}
}

// Identity is the userIdentity CloudTrail records for the attempt: for a failure the user's
// ARN is left out and an unknown user's name is hidden, as AWS does.
func (a Attempt) Identity(success bool) *event.UserIdentity {
	id := &event.UserIdentity{AccountID: a.AccountID}
	switch {
	case a.Known && a.UserName == "":
		id.Type, id.PrincipalID, id.ARN = "Root", a.AccountID, "arn:aws:iam::"+a.AccountID+":root"
	case a.Known:
		id.Type, id.PrincipalID, id.UserName = "IAMUser", a.PrincipalID, a.UserName
		if success {
			id.ARN = "arn:aws:iam::" + a.AccountID + ":user/" + a.UserName
		}
	default:
		id.Type, id.UserName = "IAMUser", HiddenUserName
	}
	return id
}

// LoginProfile is a user's console sign-in settings.
type LoginProfile struct {
	AccountID, UserName, PrincipalID string
	MFA                              bool
	FailedAttempts                   int
	LockedUntil                      time.Time
	Created, PasswordChanged         time.Time
}

// ResolveAccount finds an account by its 12-digit ID or its alias.
func (s *Store) ResolveAccount(ctx context.Context, idOrAlias string) (Account, error) {
	var a Account
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT id, COALESCE(alias, ''), operator, created_at FROM accounts WHERE id = ? OR alias = ?`,
		idOrAlias, idOrAlias).Scan(&a.ID, &a.Alias, &a.Operator, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %q: %w", idOrAlias, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("look up account %q: %w", idOrAlias, err)
	}
	a.Created, _ = time.Parse(time.RFC3339, created)
	return a, nil
}

// normalUser maps the sign-in form's user name to the stored one ("" for root).
func normalUser(name string) (string, error) {
	if name == RootUserName || name == "" {
		return "", nil
	}
	if !userNameRE.MatchString(name) {
		return "", fmt.Errorf("user name %q: want 1 to 64 letters, digits or +=,.@_-", name)
	}
	return name, nil
}

// SetPassword creates or replaces the login profile's password of a user ("root" or "" for the
// account's root user) and clears any lock-out.
func (s *Store) SetPassword(ctx context.Context, account, userName, password string) error {
	return s.setPassword(ctx, s.db, account, userName, password)
}

func (s *Store) setPassword(ctx context.Context, db execer, account, userName, password string) error {
	user, err := normalUser(userName)
	if err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	principal := account
	if user != "" {
		// A login profile belongs to an existing user, and signs in as that user's principal.
		err := db.QueryRowContext(ctx, `SELECT user_id FROM iam_users WHERE account_id = ? AND user_name = ?`, account, user).Scan(&principal)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("set console password of user %s in account %s: %w: create the user first (cairn iam create-user)", user, account, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("set console password of user %s in account %s: %w", user, account, err)
		}
	}
	now := s.now().UTC().Format(time.RFC3339)
	_, err = db.ExecContext(ctx, `INSERT INTO login_profiles (account_id, user_name, principal_id, password_hash, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, user_name) DO UPDATE SET password_hash = excluded.password_hash,
			password_changed_at = excluded.password_changed_at, failed_attempts = 0, locked_until = NULL`,
		account, user, principal, hash, now, now)
	if err != nil {
		return fmt.Errorf("set console password of %s in account %s: %w", displayUser(user), account, err)
	}
	return nil
}

func displayUser(u string) string {
	if u == "" {
		return RootUserName
	}
	return "user " + u
}

// EnableMFA gives a login profile a new TOTP MFA device and returns its key, which the user
// enters in an authenticator app. Sign-in then requires a code.
func (s *Store) EnableMFA(ctx context.Context, account, userName string) ([]byte, error) {
	user, err := normalUser(userName)
	if err != nil {
		return nil, err
	}
	key := totp.NewKey()
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, key, []byte("mfa:"+account+":"+user))
	res, err := s.db.ExecContext(ctx, `UPDATE login_profiles SET mfa_key_encrypted = ? WHERE account_id = ? AND user_name = ?`, sealed, account, user)
	if err != nil {
		return nil, fmt.Errorf("enable MFA for %s in account %s: %w", displayUser(user), account, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("enable MFA for %s in account %s: %w: set a password first", displayUser(user), account, ErrNoLoginProfile)
	}
	return key, nil
}

// DisableMFA removes a login profile's MFA device.
func (s *Store) DisableMFA(ctx context.Context, account, userName string) error {
	user, err := normalUser(userName)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE login_profiles SET mfa_key_encrypted = NULL WHERE account_id = ? AND user_name = ?`, account, user); err != nil {
		return fmt.Errorf("disable MFA for %s in account %s: %w", displayUser(user), account, err)
	}
	return nil
}

// LoginProfile returns a user's login profile.
func (s *Store) LoginProfile(ctx context.Context, account, userName string) (LoginProfile, error) {
	user, err := normalUser(userName)
	if err != nil {
		return LoginProfile{}, err
	}
	p, _, _, err := s.loginProfile(ctx, account, user)
	return p, err
}

func (s *Store) loginProfile(ctx context.Context, account, user string) (LoginProfile, string, []byte, error) {
	p := LoginProfile{AccountID: account, UserName: user}
	var hash, created, changed string
	var locked sql.NullString
	var mfa []byte
	err := s.db.QueryRowContext(ctx, `SELECT principal_id, password_hash, mfa_key_encrypted, failed_attempts, locked_until, created_at, password_changed_at
		FROM login_profiles WHERE account_id = ? AND user_name = ?`, account, user).
		Scan(&p.PrincipalID, &hash, &mfa, &p.FailedAttempts, &locked, &created, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return p, "", nil, fmt.Errorf("%s in account %s: %w", displayUser(user), account, ErrNoLoginProfile)
	}
	if err != nil {
		return p, "", nil, fmt.Errorf("read login profile of %s in account %s: %w", displayUser(user), account, err)
	}
	p.MFA = len(mfa) > 0
	if locked.Valid {
		p.LockedUntil, _ = time.Parse(time.RFC3339, locked.String)
	}
	p.Created, _ = time.Parse(time.RFC3339, created)
	p.PasswordChanged, _ = time.Parse(time.RFC3339, changed)
	return p, hash, mfa, nil
}

// dummyHash is verified against when the user does not exist, so a sign-in for an unknown user
// takes as long as one for a known user and timing does not reveal which users exist.
var dummyHash, _ = HashPassword("cairn-dummy-password")

// SignIn checks a console sign-in. It returns the attempt (for the ConsoleLogin record) and
// ErrFailedAuthentication, wrapped with the reason, unless the attempt succeeded. Failures count
// towards lock-out; a success resets the count.
func (s *Store) SignIn(ctx context.Context, accountIDOrAlias, userName, password, mfaCode string) (Attempt, error) {
	var a Attempt
	fail := func(reason string) (Attempt, error) {
		a.Reason = reason
		return a, fmt.Errorf("%w: %s", ErrFailedAuthentication, reason)
	}
	acct, err := s.ResolveAccount(ctx, accountIDOrAlias)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return a, err
	}
	user, uerr := normalUser(userName)
	if err != nil || uerr != nil {
		VerifyPassword(dummyHash, password)
		if event.IsAccountID(accountIDOrAlias) {
			a.AccountID = accountIDOrAlias
		}
		if err != nil {
			return fail("no such account")
		}
		return fail(uerr.Error())
	}
	a.AccountID, a.UserName, a.Account = acct.ID, user, true
	p, hash, sealedMFA, err := s.loginProfile(ctx, acct.ID, user)
	if errors.Is(err, ErrNoLoginProfile) {
		VerifyPassword(dummyHash, password)
		return fail("no login profile for " + displayUser(user))
	}
	if err != nil {
		return a, err
	}
	a.Known, a.PrincipalID, a.MFAUsed = true, p.PrincipalID, p.MFA
	now := s.now()
	if now.Before(p.LockedUntil) {
		a.Locked = true
		s.recordFailure(ctx, acct.ID, user, now)
		return fail(fmt.Sprintf("locked out until %s after %d failed sign-ins", p.LockedUntil.UTC().Format(time.RFC3339), LockoutThreshold))
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return a, fmt.Errorf("sign-in of %s in account %s: %w", displayUser(user), acct.ID, err)
	}
	reason := ""
	switch {
	case !ok:
		reason = "wrong password"
	case len(sealedMFA) > 0:
		key, err := s.openMFA(sealedMFA, acct.ID, user)
		if err != nil {
			return a, err
		}
		if !totp.Verify(key, mfaCode, now) {
			reason = "wrong or missing MFA code"
		}
	}
	if reason != "" {
		if s.recordFailure(ctx, acct.ID, user, now) {
			a.Locked = true
			reason += fmt.Sprintf("; locked out for %v after %d failed sign-ins", LockoutDuration, LockoutThreshold)
		}
		return fail(reason)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE login_profiles SET failed_attempts = 0, locked_until = NULL WHERE account_id = ? AND user_name = ?`, acct.ID, user); err != nil {
		return a, fmt.Errorf("reset failed sign-ins: %w", err)
	}
	return a, nil
}

// recordFailure counts a failed sign-in and reports whether it locked the profile. A failure to
// count is logged by the caller's ConsoleLogin record, not fatal to the answer (still a failure).
func (s *Store) recordFailure(ctx context.Context, account, user string, now time.Time) bool {
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE login_profiles SET failed_attempts = failed_attempts + 1 WHERE account_id = ? AND user_name = ?
		RETURNING failed_attempts`, account, user).Scan(&n)
	if err != nil || n < LockoutThreshold || n%LockoutThreshold != 0 {
		return false
	}
	until := now.Add(LockoutDuration).UTC().Format(time.RFC3339)
	_, err = s.db.ExecContext(ctx, `UPDATE login_profiles SET locked_until = ? WHERE account_id = ? AND user_name = ?`, until, account, user)
	return err == nil
}

func (s *Store) openMFA(sealed []byte, account, user string) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns {
		return nil, fmt.Errorf("MFA key of %s in account %s is damaged", displayUser(user), account)
	}
	key, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], []byte("mfa:"+account+":"+user))
	if err != nil {
		return nil, fmt.Errorf("MFA key of %s in account %s: cannot decrypt (wrong keys/secret.key?): %w", displayUser(user), account, err)
	}
	return key, nil
}
