-- Editing and deleting entries, erasing a client, and PR reads that never
-- contradict the history.

-- An entry's version: 1 when logged, then the number of the edit that made
-- it what it is (edits are numbered when accepted, so a late one never
-- overwrites a newer one). Served as the ETag.
ALTER TABLE workouts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Day summaries get a compare-and-swap version, like the read model rows,
-- because a day is now recomputed from its entries (an edit can lower it).
ALTER TABLE personal_record_days ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Deleted entries. Their id (and so their idempotency key) stays reserved:
-- a late retry of the original POST, or a redelivered insert, must not
-- bring the entry back, and a late edit must not apply.
CREATE TABLE workout_tombstones (
    user_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    idempotency_key TEXT,
    version         INTEGER NOT NULL,           -- the edit number of the delete
    deleted_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;

-- Erased clients: writes for them accepted before the erasure are dropped.
CREATE TABLE user_erasures (
    user_id        TEXT PRIMARY KEY NOT NULL,
    erased_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;

-- Changes the PR read model and day bests have not absorbed yet: one row
-- per write and (exercise, UTC day) it touched, written with the entry in
-- one transaction, removed once that day and the all-time row are settled.
-- PR reads compute these days live, so they never miss what history shows.
-- `destructive`: the write may have lowered a record (edit or delete).
CREATE TABLE pr_changes (
    user_id             TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    day                 INTEGER NOT NULL,
    op                  TEXT NOT NULL,
    destructive         INTEGER NOT NULL,
    PRIMARY KEY (user_id, exercise_name_lower, day, op)
) WITHOUT ROWID;

-- Each client's exercises (the key and the name as last logged): what a
-- filter or an exercise list reads instead of the history.
CREATE TABLE user_exercises (
    user_id             TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    exercise_name       TEXT NOT NULL,
    PRIMARY KEY (user_id, exercise_name_lower)
) WITHOUT ROWID;

-- The name of each key's newest entry (SQLite takes the bare column from
-- the row holding the max).
INSERT INTO user_exercises (user_id, exercise_name_lower, exercise_name)
    SELECT user_id, exercise_name_lower, exercise_name
    FROM (SELECT user_id, exercise_name_lower, exercise_name, max(date_ms)
          FROM workouts GROUP BY user_id, exercise_name_lower);
