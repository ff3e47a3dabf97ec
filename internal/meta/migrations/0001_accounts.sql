-- Accounts and their access keys. Secrets are stored encrypted (AES-256-GCM with the key in
-- keys/secret.key); the plaintext never reaches this file.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY CHECK (length(id) = 12),
    alias      TEXT UNIQUE,
    -- The account created at bootstrap operates cairn: it may record events for any account.
    operator   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE access_keys (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    user_name        TEXT NOT NULL DEFAULT '',  -- '' = the account's root user
    secret_encrypted BLOB NOT NULL,
    status           TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Inactive')),
    created_at       TEXT NOT NULL
);
CREATE INDEX access_keys_account ON access_keys(account_id);
