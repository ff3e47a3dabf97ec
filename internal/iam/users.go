package iam

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrExists is returned for a user that already exists.
var ErrExists = errors.New("already exists")

// User is an IAM user of an account.
type User struct {
	AccountID string
	Name      string
	ID        string // AIDA…
	Created   time.Time
	Policies  []string // inline policy names
	Attached  []string // built-in managed policy names
}

// ARN is the user's IAM ARN.
func (u User) ARN() string { return Principal{AccountID: u.AccountID, UserName: u.Name}.ARN() }

var policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// CreateUser adds an IAM user to an account.
func (s *Store) CreateUser(ctx context.Context, account, name string) (User, error) {
	if name == RootUserName || !userNameRE.MatchString(name) {
		return User{}, fmt.Errorf("user name %q: want 1 to 64 letters, digits or +=,.@_-, and not %q", name, RootUserName)
	}
	a, err := s.ResolveAccount(ctx, account)
	if err != nil {
		return User{}, err
	}
	account = a.ID
	u := User{AccountID: account, Name: name, ID: "AIDA" + randomString(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), Created: s.now().UTC().Truncate(time.Second)}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM iam_users WHERE account_id = ? AND user_name = ?`, account, name).Scan(&n); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, err)
	}
	if n > 0 {
		return User{}, fmt.Errorf("user %s in account %s: %w", name, account, ErrExists)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO iam_users (account_id, user_name, user_id, created_at) VALUES (?, ?, ?, ?)`,
		account, name, u.ID, u.Created.Format(time.RFC3339)); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, err)
	}
	return u, nil
}

// GetUser returns a user with the names of its policies.
func (s *Store) GetUser(ctx context.Context, account, name string) (User, error) {
	u := User{AccountID: account}
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT user_name, user_id, created_at FROM iam_users WHERE account_id = ? AND user_name = ?`, account, name).
		Scan(&u.Name, &u.ID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s in account %s: %w", name, account, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("look up user %s: %w", name, err)
	}
	u.Created, _ = time.Parse(time.RFC3339, created)
	if u.Policies, err = s.names(ctx, `SELECT policy_name FROM user_policies WHERE account_id = ? AND user_name = ? ORDER BY policy_name`, account, u.Name); err != nil {
		return User{}, err
	}
	if u.Attached, err = s.names(ctx, `SELECT policy_name FROM user_attached_policies WHERE account_id = ? AND user_name = ? ORDER BY policy_name`, account, u.Name); err != nil {
		return User{}, err
	}
	return u, nil
}

// Users lists an account's users by name, with their policies.
func (s *Store) Users(ctx context.Context, account string) ([]User, error) {
	names, err := s.names(ctx, `SELECT user_name FROM iam_users WHERE account_id = ? ORDER BY user_name`, account)
	if err != nil {
		return nil, err
	}
	users := make([]User, 0, len(names))
	for _, n := range names {
		u, err := s.GetUser(ctx, account, n)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func (s *Store) names(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list IAM names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// CreateUserAccessKey gives an existing user a new access key.
func (s *Store) CreateUserAccessKey(ctx context.Context, account, name string) (AccessKey, error) {
	u, err := s.GetUser(ctx, account, name)
	if err != nil {
		return AccessKey{}, err
	}
	return s.CreateAccessKey(ctx, account, u.Name, "", "")
}

// PutUserPolicy adds or replaces a user's inline policy after validating the document.
func (s *Store) PutUserPolicy(ctx context.Context, account, user, policyName string, doc []byte) error {
	if !policyNameRE.MatchString(policyName) {
		return fmt.Errorf("policy name %q: want 1 to 128 letters, digits or +=,.@_-", policyName)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return fmt.Errorf("policy %s: %w: the document is not JSON: %v", policyName, ErrMalformedPolicy, err)
	}
	if compact.Len() > MaxPolicySize {
		return fmt.Errorf("policy %s: %w: %d characters without whitespace; an inline user policy holds at most %d",
			policyName, ErrMalformedPolicy, compact.Len(), MaxPolicySize)
	}
	if _, err := ParsePolicy(compact.Bytes()); err != nil {
		return fmt.Errorf("policy %s: %w", policyName, err)
	}
	u, err := s.GetUser(ctx, account, user)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO user_policies (account_id, user_name, policy_name, document) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document`,
		account, u.Name, policyName, compact.String())
	if err != nil {
		return fmt.Errorf("put policy %s of user %s: %w", policyName, u.Name, err)
	}
	return nil
}

// AttachUserPolicy attaches a built-in managed policy, by name or ARN, to a user.
func (s *Store) AttachUserPolicy(ctx context.Context, account, user, policy string) error {
	name, _, err := ManagedPolicy(policy)
	if err != nil {
		return err
	}
	u, err := s.GetUser(ctx, account, user)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO user_attached_policies (account_id, user_name, policy_name) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, account, u.Name, name)
	if err != nil {
		return fmt.Errorf("attach %s to user %s: %w", name, u.Name, err)
	}
	return nil
}

// Authorize decides whether the principal may perform action (service:Operation) on resource
// (an ARN or "*"). The account's root user may do anything. A user's policies are read on
// every call, so a change made by another process (cairn iam) applies at once.
func (s *Store) Authorize(ctx context.Context, p Principal, action, resource string) (Decision, error) {
	if p.IsRoot() {
		return Allowed, nil
	}
	policies, err := s.userPolicies(ctx, p.AccountID, p.UserName)
	if err != nil {
		return ImplicitDeny, err
	}
	return Evaluate(policies, action, resource), nil
}

func (s *Store) userPolicies(ctx context.Context, account, user string) ([]*Policy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT policy_name, document FROM user_policies WHERE account_id = ? AND user_name = ?
		UNION ALL SELECT policy_name, NULL FROM user_attached_policies WHERE account_id = ? AND user_name = ?`, account, user, account, user)
	if err != nil {
		return nil, fmt.Errorf("read policies of user %s: %w", user, err)
	}
	defer rows.Close()
	var out []*Policy
	for rows.Next() {
		var name string
		var doc sql.NullString
		if err := rows.Scan(&name, &doc); err != nil {
			return nil, err
		}
		var p *Policy
		if doc.Valid {
			p, err = ParsePolicy([]byte(doc.String))
		} else {
			_, p, err = ManagedPolicy(name)
		}
		if err != nil {
			return nil, fmt.Errorf("policy %s of user %s: %w", name, user, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
