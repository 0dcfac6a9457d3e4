-- OpenID Connect Back-Channel Logout 1.0. The session registry: every browser session a login
-- started, with the provider's subject and login session (`sid`, when its ID token had one),
-- until the session's cookie expires. A logout token names a `sid` and/or a `sub`; the
-- sessions it matches here are ended for good (`revoked_sessions`) on every instance.
CREATE TABLE session_registry (
    session_id TEXT    NOT NULL PRIMARY KEY,
    sub        TEXT    NOT NULL,
    sid        TEXT,
    expires_at INTEGER NOT NULL
);
CREATE INDEX session_registry_by_sid ON session_registry (sid);
CREATE INDEX session_registry_by_sub ON session_registry (sub);

-- Logout tokens accepted (by the SHA-256 of their issuer and `jti`) until they would be
-- refused as too old anyway: a replay to any instance is refused (§2.6 step 8).
CREATE TABLE used_logout_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
