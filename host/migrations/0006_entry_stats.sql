-- The entries each day summary and read model row covers (count, first and
-- last instant), kept exact by the same settles as the records: an exercise
-- list reads one row per exercise instead of the history. NULL `entries`:
-- not computed yet (readers compute it from the entries).
ALTER TABLE personal_records ADD COLUMN entries INTEGER;
ALTER TABLE personal_records ADD COLUMN first_ms INTEGER;
ALTER TABLE personal_records ADD COLUMN last_ms INTEGER;
ALTER TABLE personal_record_days ADD COLUMN entries INTEGER;
ALTER TABLE personal_record_days ADD COLUMN first_ms INTEGER;
ALTER TABLE personal_record_days ADD COLUMN last_ms INTEGER;

-- Computed from the entries as they are now; changes not settled yet are
-- recomputed from the entries when they settle, as the records are.
UPDATE personal_record_days SET
    entries = (SELECT count(*) FROM workouts w
               WHERE w.user_id = personal_record_days.user_id
                 AND w.exercise_name_lower = personal_record_days.exercise_name_lower
                 AND w.date_ms >= personal_record_days.day * 86400000
                 AND w.date_ms < (personal_record_days.day + 1) * 86400000),
    first_ms = (SELECT min(date_ms) FROM workouts w
               WHERE w.user_id = personal_record_days.user_id
                 AND w.exercise_name_lower = personal_record_days.exercise_name_lower
                 AND w.date_ms >= personal_record_days.day * 86400000
                 AND w.date_ms < (personal_record_days.day + 1) * 86400000),
    last_ms = (SELECT max(date_ms) FROM workouts w
               WHERE w.user_id = personal_record_days.user_id
                 AND w.exercise_name_lower = personal_record_days.exercise_name_lower
                 AND w.date_ms >= personal_record_days.day * 86400000
                 AND w.date_ms < (personal_record_days.day + 1) * 86400000);

UPDATE personal_records SET
    entries = (SELECT count(*) FROM workouts w
               WHERE w.user_id = personal_records.user_id
                 AND w.exercise_name_lower = personal_records.exercise_name_lower),
    first_ms = (SELECT min(date_ms) FROM workouts w
               WHERE w.user_id = personal_records.user_id
                 AND w.exercise_name_lower = personal_records.exercise_name_lower),
    last_ms = (SELECT max(date_ms) FROM workouts w
               WHERE w.user_id = personal_records.user_id
                 AND w.exercise_name_lower = personal_records.exercise_name_lower);
