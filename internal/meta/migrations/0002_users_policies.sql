-- IAM users and their identity-based policies. A user's access keys are rows of access_keys
-- with its user_name. Inline policies keep their JSON document; attached policies name one of
-- cairn's built-in AWS managed policies (internal/iam), so a fix to a built-in applies to all.
CREATE TABLE iam_users (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    user_name  TEXT NOT NULL COLLATE NOCASE,  -- unique regardless of case, as IAM's are
    user_id    TEXT NOT NULL UNIQUE,          -- AIDA…
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name)
);

CREATE TABLE user_policies (
    account_id  TEXT NOT NULL,
    user_name   TEXT NOT NULL COLLATE NOCASE,
    policy_name TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name, policy_name),
    FOREIGN KEY (account_id, user_name) REFERENCES iam_users(account_id, user_name)
);

CREATE TABLE user_attached_policies (
    account_id  TEXT NOT NULL,
    user_name   TEXT NOT NULL COLLATE NOCASE,
    policy_name TEXT NOT NULL,  -- a built-in managed policy, arn:aws:iam::aws:policy/<name>
    PRIMARY KEY (account_id, user_name, policy_name),
    FOREIGN KEY (account_id, user_name) REFERENCES iam_users(account_id, user_name)
);
