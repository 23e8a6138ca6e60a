-- Workout entries. Sets are embedded (JSON), as in the document model.
CREATE TABLE workouts (
    id                  TEXT PRIMARY KEY NOT NULL,   -- ObjectId, 24 lower-case hex
    user_id             TEXT NOT NULL,
    exercise_name       TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    date_ms             INTEGER NOT NULL,            -- UTC instant, ms since epoch
    sets                TEXT NOT NULL,               -- JSON [{reps, weight, unit, weightKg}]
    idempotency_key     TEXT,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL
);

-- History: user-scoped keyset over (date desc, id desc).
CREATE INDEX workouts_user_date_id ON workouts (user_id, date_ms DESC, id DESC);
-- PRs: one exercise of one user, by date.
CREATE INDEX workouts_user_exercise_date ON workouts (user_id, exercise_name_lower, date_ms DESC);
-- Idempotency: a key is stored at most once per user.
CREATE UNIQUE INDEX workouts_user_idempotency_key ON workouts (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The PR read model: one row per (user, exercise).
CREATE TABLE personal_records (
    user_id             TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    records             TEXT NOT NULL,               -- JSON {heaviestSet, highestVolumeSet, bestOneRepMax}
    version             INTEGER NOT NULL,            -- compare-and-swap watermark
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (user_id, exercise_name_lower)
) WITHOUT ROWID;
