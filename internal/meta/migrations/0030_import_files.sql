-- cairn import's ledger (internal/importer): which files it has read, so that a re-run skips
-- them and a run cut short resumes without recording any event twice.
CREATE TABLE import_files (
    target     TEXT NOT NULL,            -- '' for this data directory, else the server's endpoint
    key        TEXT NOT NULL,            -- AWSLogs/… for files in CloudTrail's layout, else path or s3:// URL
    filter     TEXT NOT NULL,            -- the run's filters in canonical form, '' for none
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL DEFAULT '', -- of the file as stored, hex
    etag       TEXT NOT NULL DEFAULT '', -- S3 ETag
    records    INTEGER NOT NULL,         -- leading records whose fate is settled (all, once done)
    recorded   INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected   INTEGER NOT NULL DEFAULT 0,
    filtered   INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL CHECK (status IN ('partial', 'done', 'failed')),
    error      TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target, key, filter)
) WITHOUT ROWID;

-- While an import into this data directory runs: a journal sequence such that every journaled
-- record of a file not yet marked done comes after it. A run that finds a mark resumes one that
-- was cut short, and checks what it records against the journal after the mark.
CREATE TABLE import_marks (
    target     TEXT PRIMARY KEY,
    after_seq  INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
