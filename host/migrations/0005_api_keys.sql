-- API keys. The secret is never stored: only its SHA-256 (key_hash), by
-- which a presented secret finds its key.
CREATE TABLE api_keys (
    uid                 TEXT PRIMARY KEY NOT NULL,   -- UUID, lower-case hyphenated
    key_hash            TEXT NOT NULL UNIQUE,        -- hex SHA-256 of the secret
    name                TEXT NOT NULL,
    description         TEXT,
    actions             TEXT NOT NULL,               -- JSON ["workouts.read", ...] or ["*"]
    users               TEXT NOT NULL,               -- JSON [userId, ...] or ["*"]
    expires_at_ms       INTEGER,                     -- NULL: never expires
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);
