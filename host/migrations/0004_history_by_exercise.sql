-- Filtered history pages read each matching exercise's entries in keyset
-- order, (date desc, id desc), and merge them: the id must be in the index
-- for a page to cost O(exercises x page) rather than a sort of every match.
DROP INDEX workouts_user_exercise_date;
CREATE INDEX workouts_user_exercise_date_id
    ON workouts (user_id, exercise_name_lower, date_ms DESC, id DESC);
