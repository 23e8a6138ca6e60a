-- CSV import records (JSON, written once by POST /imports, read by id).
CREATE TABLE imports (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL,
    record      TEXT NOT NULL
);
