package iam

import (
	"context"
	"fmt"
)

// BootstrapConfig fixes the first account and its root key, for automation. Empty fields are
// generated.
type BootstrapConfig struct {
	AccountID       string // CAIRN_ACCOUNT_ID
	AccessKeyID     string // CAIRN_ROOT_ACCESS_KEY_ID
	SecretAccessKey string // CAIRN_ROOT_SECRET_ACCESS_KEY
	ConsolePassword string // CAIRN_ROOT_PASSWORD: the root user's console password
}

// Admin is the operator account and its root key.
type Admin struct {
	AccountID       string
	AccessKeyID     string
	SecretAccessKey string
	ConsolePassword string // the root user's console password
}

// Bootstrap creates the operator account, its root access key and the root user's console
// password if the store has no accounts.
// It reports whether it created them; on later starts it does nothing and returns a nil Admin,
// because the secret is not recoverable from the store.
func (s *Store) Bootstrap(ctx context.Context, cfg BootstrapConfig) (*Admin, error) {
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	if len(accounts) > 0 {
		return nil, nil
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, fmt.Errorf("bootstrap: CAIRN_ROOT_ACCESS_KEY_ID and CAIRN_ROOT_SECRET_ACCESS_KEY must be set together")
	}
	id := cfg.AccountID
	if id == "" {
		id = RandomAccountID()
	}
	// One transaction: an account without its key would lock everyone out for good.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := s.createAccount(ctx, tx, id, "", true); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	key, err := s.createAccessKey(ctx, tx, id, "", cfg.AccessKeyID, cfg.SecretAccessKey)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	password := cfg.ConsolePassword
	if password == "" {
		password = randomString(20, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
	}
	if err := s.setPassword(ctx, tx, id, "", password); err != nil {
		return nil, fmt.Errorf("bootstrap: CAIRN_ROOT_PASSWORD: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return &Admin{AccountID: id, AccessKeyID: key.ID, SecretAccessKey: key.Secret, ConsolePassword: password}, nil
}
