-- CloudWatch Logs: log groups, streams, events, metric filters (issue 6).
CREATE TABLE log_groups (
    id             INTEGER PRIMARY KEY,
    account_id     TEXT NOT NULL,
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    retention_days INTEGER,                       -- NULL: never expire
    kms_key_id     TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, region, name)
);
CREATE TABLE log_group_tags (
    group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (group_id, key)
);
CREATE TABLE log_streams (
    id                INTEGER PRIMARY KEY,
    group_id          INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    first_event_ms    INTEGER,
    last_event_ms     INTEGER,
    last_ingestion_ms INTEGER,
    stored_bytes      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
-- Events carry no foreign key (inserts stay cheap); deleting a group or stream deletes its
-- events explicitly in the same transaction.
CREATE TABLE log_events (
    id           INTEGER PRIMARY KEY,            -- also the eventId
    group_id     INTEGER NOT NULL,
    stream_id    INTEGER NOT NULL,
    ts           INTEGER NOT NULL,               -- event timestamp, ms
    ingestion_ms INTEGER NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX log_events_group_ts ON log_events (group_id, ts, id);
CREATE INDEX log_events_stream_ts ON log_events (stream_id, ts, id);
CREATE TABLE metric_filters (
    group_id   INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    transform  TEXT NOT NULL,                    -- JSON: the one metric transformation
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
);
-- How far the trail → log group feed has read the journal; updated in the same transaction as
-- the events it adds, so every event lands exactly once.
CREATE TABLE log_trail_feed (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO log_trail_feed (id, seq) VALUES (1, 0);
