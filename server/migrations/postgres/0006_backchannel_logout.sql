-- OpenID Connect Back-Channel Logout 1.0. The session registry: every browser session a login
-- started, with the provider (`iss`), the farmer's subject and the provider's login session
-- (`sid`, when its ID token had one), until the session's cookie expires. A logout token names
-- a `sid` and/or a `sub` of its issuer; the sessions it matches here are ended for good
-- (`revoked_sessions`) on every instance.
CREATE TABLE session_registry (
    session_id TEXT    NOT NULL PRIMARY KEY,
    iss        TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    sid        TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX session_registry_by_sid ON session_registry (sid);
CREATE INDEX session_registry_by_sub ON session_registry (sub);

-- Logout tokens accepted (by the SHA-256 of their issuer and `jti`) until they would be
-- refused as too old anyway: a replay to any instance is refused (§2.6 step 8).
CREATE TABLE used_logout_tokens (
    digest     BYTEA    NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Each accepted logout token's watermark: the provider ended the login sessions of `iss` and
-- `sub` at `ended_at`: every session of `sub`, or with `sid` set those of that `sid` and those
-- without one (`sub` is NULL for a token naming `sid` alone). Every instance follows it into
-- memory (`seq`: only what is new), and a session
-- that logged in at or before `ended_at` is refused even without a registry row (a cookie from
-- before this table, a login completing while the logout arrived). Kept until the longest
-- session that could have logged in by then has ended (`expires_at`).
CREATE TABLE logout_watermarks (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    iss        TEXT    NOT NULL,
    sub        TEXT,
    sid        TEXT,
    ended_at   BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX logout_watermarks_by_sub ON logout_watermarks (sub);
