-- The browser sessions' side of the store (server/src/store/): the commit point of every
-- rotation and every logout, shared by every instance. Times are Unix seconds (the BFF's clock).
-- SQLite's twin: ../sqlite/0003_renewal.sql.

-- What became of a refresh token the BFF presented (by its SHA-256, never the token): its
-- successor, sealed with the vault key ring and bound to this digest and the session, or
-- 'ended' (the provider refused it, or the outcome was lost). Kept until the presented token
-- can no longer come back (its session's end), or until a newer cookie has been seen for a while.
CREATE TABLE successors (
    digest        BYTEA    NOT NULL PRIMARY KEY,
    session_id    TEXT    NOT NULL,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('renewed', 'ended')),
    key_id        TEXT,
    sealed        BYTEA,
    next_digest   BYTEA,
    created_at    BIGINT  NOT NULL,
    superseded_at BIGINT ,
    expires_at    BIGINT  NOT NULL,
    CHECK ((outcome = 'renewed') = (key_id IS NOT NULL AND sealed IS NOT NULL))
);
CREATE INDEX successors_by_next ON successors (next_digest);
CREATE INDEX successors_by_expiry ON successors (expires_at);

-- One refresh per refresh token across instances: whoever holds the row calls the provider.
-- `generation` fences a holder whose lease was taken over; `sent_at` says when the token was
-- sent (the provider may have acted: a holder that died after sending leaves an uncertain
-- outcome, settled only once its request can no longer be in flight); `session_end` bounds how
-- long an unsettled row can matter.
CREATE TABLE refresh_leases (
    digest     BYTEA    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    generation BIGINT  NOT NULL,
    sent_at    BIGINT ,
    session_end BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

-- The newest refresh token committed for each session (its digest): a token of the session
-- that is neither this one nor has a committed outcome is an older copy whose link was pruned,
-- refused without contacting the provider.
CREATE TABLE session_heads (
    session_id TEXT    NOT NULL PRIMARY KEY,
    digest     BYTEA    NOT NULL,
    expires_at BIGINT  NOT NULL
);

-- Sessions ended (logout, a login over them, a dead refresh token) until their cookies expire:
-- every copy of such a cookie is refused. `seq` lets instances read only what is new.
CREATE TABLE revoked_sessions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id TEXT    NOT NULL UNIQUE,
    expires_at BIGINT  NOT NULL
);

-- Login transactions used (by the SHA-256 of their state) until they would have expired: a
-- login POST replayed to any instance is refused.
CREATE TABLE used_login_states (
    digest     BYTEA    NOT NULL PRIMARY KEY,
    expires_at BIGINT  NOT NULL
);
