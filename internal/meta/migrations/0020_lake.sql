-- CloudTrail Lake: event data stores, channels, queries. The events themselves live in
-- lake.duckdb; keys that encrypt stores live in keys/lake/.
CREATE TABLE lake_event_data_stores (
    id                     TEXT PRIMARY KEY,           -- UUID, the suffix of the store's ARN
    account_id             TEXT NOT NULL,
    region                 TEXT NOT NULL,
    name                   TEXT NOT NULL,
    kind                   INTEGER NOT NULL,           -- 0 CloudTrail events, 1 configuration items, 2 integration events
    status                 TEXT NOT NULL,
    restore_status         TEXT NOT NULL DEFAULT '',   -- the status RestoreEventDataStore returns to
    selectors              TEXT NOT NULL,              -- AdvancedEventSelectors, JSON
    multi_region           INTEGER NOT NULL,
    organization           INTEGER NOT NULL,
    retention_days         INTEGER NOT NULL,
    termination_protection INTEGER NOT NULL,
    billing_mode           TEXT NOT NULL,
    kms_key_id             TEXT NOT NULL DEFAULT '',   -- as the caller named it
    data_key               BLOB,                       -- the store's data key, sealed with the KMS key
    start_seq              INTEGER NOT NULL,           -- the store receives journal records after this one
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    deleted_at             TEXT                        -- when DeleteEventDataStore was called
);
CREATE UNIQUE INDEX lake_event_data_stores_name ON lake_event_data_stores(account_id, region, name);

CREATE TABLE lake_channels (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL,
    region           TEXT NOT NULL,
    name             TEXT NOT NULL,
    source           TEXT NOT NULL,
    destinations     TEXT NOT NULL,                   -- JSON [{Type, Location}]
    created_at       TEXT NOT NULL,
    -- IngestionStatus as GetChannel reports it.
    last_success_at  TEXT NOT NULL DEFAULT '',
    last_success_id  TEXT NOT NULL DEFAULT '',
    last_attempt_at  TEXT NOT NULL DEFAULT '',
    last_attempt_id  TEXT NOT NULL DEFAULT '',
    last_error_code  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX lake_channels_name ON lake_channels(account_id, region, name);

-- Tags of event data stores and channels, by ARN.
CREATE TABLE lake_tags (
    resource_arn TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);

CREATE TABLE lake_queries (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    region          TEXT NOT NULL,
    statement       TEXT NOT NULL,                   -- as the caller wrote it
    status          TEXT NOT NULL,
    error_message   TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,                   -- RFC 3339 with nanoseconds, UTC
    finished_at     TEXT NOT NULL DEFAULT '',
    events_matched  INTEGER NOT NULL DEFAULT 0,
    events_scanned  INTEGER NOT NULL DEFAULT 0,
    bytes_scanned   INTEGER NOT NULL DEFAULT 0,
    execution_ms    INTEGER NOT NULL DEFAULT 0,
    result_count    INTEGER NOT NULL DEFAULT 0,
    columns         TEXT NOT NULL DEFAULT '[]',      -- result column names, JSON
    seal_store      TEXT NOT NULL DEFAULT ''         -- the store whose data key seals the results
);
CREATE INDEX lake_queries_account ON lake_queries(account_id, region, created_at);

CREATE TABLE lake_query_stores (
    query_id TEXT NOT NULL REFERENCES lake_queries(id) ON DELETE CASCADE,
    store_id TEXT NOT NULL,
    PRIMARY KEY (query_id, store_id)
);
CREATE INDEX lake_query_stores_store ON lake_query_stores(store_id);

-- Result rows, each a JSON array of strings (sealed when the query read an encrypted store).
CREATE TABLE lake_query_results (
    query_id TEXT NOT NULL REFERENCES lake_queries(id) ON DELETE CASCADE,
    row_no   INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (query_id, row_no)
) WITHOUT ROWID;
