-- The vault (server/src/vault/): offline grants, sealed; the farmers' daily counts; the job's
-- outcomes and bookkeeping. Times are Unix seconds; days are ISO dates (YYYY-MM-DD).
-- SQLite's twin: ../sqlite/0001_vault.sql (the same tables, its own types).

-- One offline grant per owner. Active: the sealed refresh token, its key id and its SHA-256
-- (rotation compares digests, never plaintext). Needs consent: the token is gone, the row says
-- since when.
CREATE TABLE offline_grants (
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('active', 'needs_consent')),
    key_id        TEXT,
    sealed_token  BYTEA,
    token_sha256  BYTEA,
    scopes        TEXT    NOT NULL,
    enabled_since BIGINT  NOT NULL,
    state_since   BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject, client_id),
    CHECK ((state = 'active') = (key_id IS NOT NULL AND sealed_token IS NOT NULL AND token_sha256 IS NOT NULL))
);
CREATE INDEX offline_grants_by_key ON offline_grants (key_id);

-- History: one count per farmer per day; a later count that day replaces it.
CREATE TABLE egg_counts (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    eggs       BIGINT  NOT NULL,
    counted_at BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject, client_id, day)
);

-- The job's last outcome per farmer per day.
CREATE TABLE count_outcomes (
    issuer      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('counted', 'needs_consent', 'retry_later', 'failed')),
    reason      TEXT,
    recorded_at BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject, client_id, day)
);

-- The job's bookkeeping ('last_run': the last day a scheduled run completed).
CREATE TABLE job_state (
    name TEXT NOT NULL PRIMARY KEY,
    day  TEXT NOT NULL
);
