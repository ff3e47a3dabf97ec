-- SNS topics and subscriptions (issue 7). Attributes a user sets are one JSON object each:
-- read whole and changed whole.
CREATE TABLE sns_topics (
    arn          TEXT PRIMARY KEY,              -- arn:aws:sns:<region>:<account>:<name>
    account_id   TEXT NOT NULL,
    region       TEXT NOT NULL,
    name         TEXT NOT NULL,
    attributes   TEXT NOT NULL DEFAULT '{}',
    tags         TEXT NOT NULL DEFAULT '{}',
    subs_deleted INTEGER NOT NULL DEFAULT 0,    -- SubscriptionsDeleted
    created_at   TEXT NOT NULL,
    UNIQUE (account_id, region, name)
);

-- status: pending (awaiting confirmation), confirmed, or deleted (unsubscribed; the token lets
-- the owner restore it through the UnsubscribeConfirmation's SubscribeURL until it expires).
CREATE TABLE sns_subscriptions (
    arn            TEXT PRIMARY KEY,            -- <topic arn>:<uuid>
    topic_arn      TEXT NOT NULL REFERENCES sns_topics(arn) ON DELETE CASCADE,
    owner          TEXT NOT NULL,
    protocol       TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    status         TEXT NOT NULL,
    token          TEXT NOT NULL DEFAULT '',
    token_expires  INTEGER NOT NULL DEFAULT 0,  -- unix nanoseconds
    authenticated  INTEGER NOT NULL DEFAULT 0,  -- ConfirmationWasAuthenticated
    attributes     TEXT NOT NULL DEFAULT '{}',
    delivered      INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    last_outcome   TEXT NOT NULL DEFAULT '',
    last_at        INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);
CREATE INDEX sns_subscriptions_topic ON sns_subscriptions(topic_arn);
CREATE INDEX sns_subscriptions_token ON sns_subscriptions(token);

-- The delivery outbox: one row per message and subscription, written in the transaction that
-- accepts the Publish (or Subscribe/Unsubscribe for confirmations), removed when delivered or
-- given up. A restart resumes from here.
CREATE TABLE sns_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sub_arn      TEXT NOT NULL,
    topic_arn    TEXT NOT NULL,
    type         TEXT NOT NULL,                 -- Notification | SubscriptionConfirmation | UnsubscribeConfirmation
    message_id   TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL,
    attributes   TEXT NOT NULL DEFAULT '',      -- MessageAttributes as delivered in JSON, or ''
    token        TEXT NOT NULL DEFAULT '',
    sig_version  TEXT NOT NULL DEFAULT '1',
    timestamp    INTEGER NOT NULL,              -- unix nanoseconds of the Publish
    attempt      INTEGER NOT NULL DEFAULT 0,    -- attempts made so far
    next_at      INTEGER NOT NULL               -- unix nanoseconds
);
CREATE INDEX sns_deliveries_next ON sns_deliveries(next_at);
