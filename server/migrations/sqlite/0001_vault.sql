-- The vault (server/src/vault/): offline grants, sealed; the farmers' daily counts; the job's
-- outcomes and bookkeeping. Times are Unix seconds; days are ISO dates (YYYY-MM-DD).
-- PostgreSQL's twin: ../postgres/0001_vault.sql (the same tables, its own types).

-- One offline grant per owner. Active: the sealed refresh token, its key id and its SHA-256
-- (rotation compares digests, never plaintext). Needs consent: the token is gone, the row says
-- since when.
CREATE TABLE offline_grants (
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('active', 'needs_consent')),
    key_id        TEXT,
    sealed_token  BLOB,
    token_sha256  BLOB,
    scopes        TEXT    NOT NULL,
    enabled_since INTEGER NOT NULL,
    state_since   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject, client_id),
    CHECK ((state = 'active') = (key_id IS NOT NULL AND sealed_token IS NOT NULL AND token_sha256 IS NOT NULL))
) STRICT;
CREATE INDEX offline_grants_by_key ON offline_grants (key_id);

-- History: one count per farmer per day; a later count that day replaces it.
CREATE TABLE egg_counts (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    eggs       INTEGER NOT NULL,
    counted_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject, client_id, day)
) STRICT;

-- The job's last outcome per farmer per day.
CREATE TABLE count_outcomes (
    issuer      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('counted', 'needs_consent', 'retry_later', 'failed')),
    reason      TEXT,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject, client_id, day)
) STRICT;

-- The job's bookkeeping ('last_run': the last day a scheduled run completed).
CREATE TABLE job_state (
    name TEXT NOT NULL PRIMARY KEY,
    day  TEXT NOT NULL
) STRICT;
