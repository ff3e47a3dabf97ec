-- Metrics (issue 7): one row per metric (account, region, namespace, name, dimension set) and one
-- row per metric, minute and unit with the minute's aggregate and a percentile sketch.
CREATE TABLE metric_series (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    dimensions TEXT NOT NULL, -- canonical JSON [{"Name":…,"Value":…}] sorted by name
    last_seen  INTEGER NOT NULL, -- unix seconds of the newest datapoint's arrival (ListMetrics RecentlyActive)
    UNIQUE (account, region, namespace, name, dimensions)
);

CREATE TABLE metric_points (
    series INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    minute INTEGER NOT NULL, -- unix seconds of the minute's start
    unit   TEXT NOT NULL,
    sum    REAL NOT NULL,
    count  REAL NOT NULL,
    min    REAL NOT NULL,
    max    REAL NOT NULL,
    sketch BLOB NOT NULL,
    PRIMARY KEY (series, minute, unit)
) WITHOUT ROWID;

CREATE INDEX metric_points_by_minute ON metric_points (minute);

-- Alarms: configuration as one JSON document, state beside it.
CREATE TABLE alarms (
    account            TEXT NOT NULL,
    region             TEXT NOT NULL,
    name               TEXT NOT NULL,
    config             TEXT NOT NULL,
    state              TEXT NOT NULL,
    state_reason       TEXT NOT NULL,
    state_reason_data  TEXT NOT NULL,
    state_updated      INTEGER NOT NULL, -- unix milliseconds
    state_transitioned INTEGER NOT NULL,
    config_updated     INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);

CREATE TABLE alarm_history (
    id      INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region  TEXT NOT NULL,
    alarm   TEXT NOT NULL,
    time    INTEGER NOT NULL, -- unix milliseconds
    type    TEXT NOT NULL,    -- ConfigurationUpdate, StateUpdate, Action
    summary TEXT NOT NULL,
    data    TEXT NOT NULL
);

CREATE INDEX alarm_history_by_alarm ON alarm_history (account, region, alarm, time);
CREATE INDEX alarm_history_by_time ON alarm_history (time);
