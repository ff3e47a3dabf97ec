-- Organisations: one management account, member accounts. Organisation trails cover every
-- account in their organisation, including accounts that join later.
CREATE TABLE organizations (
    id                 TEXT PRIMARY KEY,                 -- o-xxxxxxxxxx
    management_account TEXT NOT NULL UNIQUE REFERENCES accounts(id),
    created_at         TEXT NOT NULL
);
CREATE TABLE organization_accounts (
    account_id      TEXT PRIMARY KEY REFERENCES accounts(id),
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    joined_at       TEXT NOT NULL
);

-- Trails. The configuration (bucket, prefix, flags, selectors) is one JSON document: it is
-- read whole and changed whole.
CREATE TABLE trails (
    arn         TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (account_id, home_region, name)
);
CREATE TABLE trail_tags (
    arn   TEXT NOT NULL REFERENCES trails(arn) ON DELETE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
-- Logging periods: a trail receives the events cairn recorded while it was logging.
CREATE TABLE trail_logging (
    arn        TEXT NOT NULL REFERENCES trails(arn) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,  -- unix nanos
    stopped_at INTEGER,           -- NULL while logging
    PRIMARY KEY (arn, started_at)
);
-- What GetTrailStatus reports about deliveries.
CREATE TABLE trail_status (
    arn                    TEXT PRIMARY KEY REFERENCES trails(arn) ON DELETE CASCADE,
    delivery_time          INTEGER,  -- unix nanos of the latest successful delivery
    delivery_attempt_time  INTEGER,
    delivery_error         TEXT NOT NULL DEFAULT '',
    digest_time            INTEGER,
    digest_error           TEXT NOT NULL DEFAULT ''
);

-- Delivery is one journal reader. delivered_seq is the journal position every trail has
-- received; a cycle (pending_*) is recorded before its objects are written, so after a crash it
-- is redone with the same range and time and rewrites the same objects.
CREATE TABLE trail_delivery (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    delivered_seq INTEGER NOT NULL,
    pending_from  INTEGER,
    pending_to    INTEGER,
    pending_time  INTEGER
);
INSERT INTO trail_delivery (id, delivered_seq) VALUES (1, 0);

-- Log files delivered and not yet covered by a digest, per digest chain.
CREATE TABLE trail_log_files (
    arn          TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    region       TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    key          TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    oldest_event TEXT NOT NULL,
    newest_event TEXT NOT NULL,
    delivered_at INTEGER NOT NULL,
    PRIMARY KEY (arn, bucket, key)
);
CREATE INDEX trail_log_files_chain ON trail_log_files (arn, account_id, region, delivered_at);

-- Digest chains: one per trail, account and region while log file validation is on. The
-- previous digest's location, hash and signature link the next one to it.
CREATE TABLE trail_digest_chains (
    arn            TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    started_at     INTEGER NOT NULL,  -- unix seconds: digestStartTime of the next digest
    last_bucket    TEXT,
    last_key       TEXT,
    last_hash      TEXT,
    last_signature TEXT,
    -- Set when logging stops, validation is turned off or the trail is deleted: the chain ends
    -- with a final digest up to this time (unix nanos).
    closing_at     INTEGER,
    PRIMARY KEY (arn, account_id, region)
);
