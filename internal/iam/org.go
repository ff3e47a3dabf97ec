package iam

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Organization is a minimal AWS Organizations model: a management account and members.
// Organisation trails, created by the management account, cover every member, including
// accounts that join after the trail was created.
type Organization struct {
	ID                string // o-…
	ManagementAccount string
	Accounts          []string // every account in the organisation, management account included
}

// ErrNoOrganization is returned for an account that belongs to no organisation.
var ErrNoOrganization = errors.New("account is not a member of an organisation")

// CreateOrganization creates an organisation managed by account (which must exist) and
// returns its ID.
func (s *Store) CreateOrganization(ctx context.Context, management string) (string, error) {
	id := "o-" + randomString(10, "abcdefghijklmnopqrstuvwxyz0123456789")
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	now := s.now().UTC().Format(time.RFC3339)
	if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, management_account, created_at) VALUES (?, ?, ?)`, id, management, now); err != nil {
		return "", fmt.Errorf("create organisation for %s: %w", management, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO organization_accounts (account_id, organization_id, joined_at) VALUES (?, ?, ?)`, management, id, now); err != nil {
		return "", fmt.Errorf("create organisation for %s: %w", management, err)
	}
	return id, tx.Commit()
}

// JoinOrganization adds account (created if it does not exist) to the organisation.
func (s *Store) JoinOrganization(ctx context.Context, orgID, account string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = ?`, account).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if err := s.createAccount(ctx, tx, account, "", false); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO organization_accounts (account_id, organization_id, joined_at) VALUES (?, ?, ?)`,
		account, orgID, s.now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("add %s to organisation %s: %w", account, orgID, err)
	}
	return tx.Commit()
}

// OrganizationOf returns the organisation account belongs to, or ErrNoOrganization.
func (s *Store) OrganizationOf(ctx context.Context, account string) (Organization, error) {
	var o Organization
	err := s.db.QueryRowContext(ctx, `SELECT o.id, o.management_account FROM organization_accounts a JOIN organizations o ON o.id = a.organization_id WHERE a.account_id = ?`, account).
		Scan(&o.ID, &o.ManagementAccount)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%s: %w", account, ErrNoOrganization)
	}
	if err != nil {
		return o, fmt.Errorf("organisation of %s: %w", account, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT account_id FROM organization_accounts WHERE organization_id = ? ORDER BY account_id`, o.ID)
	if err != nil {
		return o, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return o, err
		}
		o.Accounts = append(o.Accounts, a)
	}
	return o, rows.Err()
}

// Member is an account of an organisation.
type Member struct {
	AccountID string
	Alias     string // the account's alias, "" if it has none
	Joined    time.Time
}

// Members lists the accounts of the organisation orgID, by account ID.
func (s *Store) Members(ctx context.Context, orgID string) ([]Member, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.account_id, COALESCE(a.alias, ''), m.joined_at FROM organization_accounts m
		JOIN accounts a ON a.id = m.account_id WHERE m.organization_id = ? ORDER BY m.account_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("members of organisation %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		var joined string
		if err := rows.Scan(&m.AccountID, &m.Alias, &joined); err != nil {
			return nil, fmt.Errorf("members of organisation %s: %w", orgID, err)
		}
		m.Joined, _ = time.Parse(time.RFC3339, joined)
		out = append(out, m)
	}
	return out, rows.Err()
}
