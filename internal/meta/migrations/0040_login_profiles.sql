-- Console sign-in: a login profile (password, optional MFA device) per user, as IAM's
-- CreateLoginProfile makes one. user_name '' is the account's root user. The MFA key is
-- encrypted like access key secrets; the password is an Argon2id PHC string.
CREATE TABLE login_profiles (
    account_id          TEXT NOT NULL REFERENCES accounts(id),
    user_name           TEXT NOT NULL,
    principal_id        TEXT NOT NULL,   -- AIDA… for users, the account ID for root, as CloudTrail records it
    password_hash       TEXT NOT NULL,
    mfa_key_encrypted   BLOB,
    failed_attempts     INTEGER NOT NULL DEFAULT 0,  -- consecutive failures since the last success
    locked_until        TEXT,                        -- RFC 3339; sign-in refused until then
    created_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name)
);
