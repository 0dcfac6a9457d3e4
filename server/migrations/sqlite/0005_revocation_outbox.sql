-- Revocations the provider could not take yet (unreachable, 5xx), retried from here by every
-- instance, across restarts, until they succeed or the token could no longer matter. The token
-- is sealed with the vault key ring, bound to the row's `ref`, client and hint.
CREATE TABLE revocation_outbox (
    ref        TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    hint       TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    attempts   INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revocation_outbox_due ON revocation_outbox (next_at);
