-- Day bests: the PRs of one (user, exercise) over one UTC day, kept together
-- with the read model, so a ranged PR reads O(days in range) rows instead of
-- every set of the exercise.
CREATE TABLE personal_record_days (
    user_id             TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    day                 INTEGER NOT NULL,            -- UTC day: floor(date_ms / 86400000)
    records             TEXT NOT NULL,               -- JSON, as personal_records.records
    PRIMARY KEY (user_id, exercise_name_lower, day)
) WITHOUT ROWID;

-- (user, exercise) keys whose entries were stored before day bests existed.
-- Ranged PRs for them are computed live until `everfit prs rebuild` builds
-- their days and removes them from here. Keys first seen after this
-- migration never appear: their days are folded from their first entry on.
CREATE TABLE personal_record_days_pending (
    user_id             TEXT NOT NULL,
    exercise_name_lower TEXT NOT NULL,
    PRIMARY KEY (user_id, exercise_name_lower)
) WITHOUT ROWID;

INSERT INTO personal_record_days_pending (user_id, exercise_name_lower)
    SELECT DISTINCT user_id, exercise_name_lower FROM workouts;
