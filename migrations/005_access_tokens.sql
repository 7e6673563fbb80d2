-- Migration 5: access tokens of the web view and its API (`gwmon token`). Only a token's SHA-256
-- is kept; the token itself is printed once when it is made. `scope` is a county code or 'city'.
-- A revoked token keeps its row (the list shows when), and is refused from then on.

CREATE TABLE IF NOT EXISTS access_tokens (
    id         INTEGER PRIMARY KEY,
    scope      TEXT    NOT NULL,
    sha256     BLOB    NOT NULL UNIQUE,
    note       TEXT    NOT NULL DEFAULT '',
    created    INTEGER NOT NULL,
    last_used  INTEGER,
    revoked    INTEGER
);
