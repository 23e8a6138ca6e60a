-- Insights read every entry of a client in a date range. Read one row per
-- entry (sets as JSON), 50,000 entries took over half a second; read from
-- packed chunks, one per client and 30-day span of dates (see
-- src/store/sqlite/chunks.rs), they take a few milliseconds.
--
-- A packed chunk is a cache kept exact by its generation: every change to
-- a span's entries bumps `generation` in the same transaction (triggers, so
-- no write path can forget one), and `packed` is used only while
-- `packed_generation` equals it. A reader repacks a stale span from the
-- entries it read in the same snapshot. Generations only ever grow (rows
-- are never deleted), so a repack of an old snapshot can never be taken
-- for a newer one.
--
-- The span of an instant is floor(date_ms / 2592000000), written here so
-- that it floors negative instants too.
CREATE TABLE insight_chunks (
    user_id           TEXT NOT NULL,
    span              INTEGER NOT NULL,
    generation        INTEGER NOT NULL,
    packed_generation INTEGER,
    packed            BLOB,
    PRIMARY KEY (user_id, span)
) WITHOUT ROWID;

CREATE TRIGGER workouts_insight_chunk_insert AFTER INSERT ON workouts
BEGIN
    INSERT OR IGNORE INTO insight_chunks (user_id, span, generation)
    VALUES (NEW.user_id,
            (NEW.date_ms - ((NEW.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000,
            0);
    UPDATE insight_chunks SET generation = generation + 1
    WHERE user_id = NEW.user_id
      AND span = (NEW.date_ms - ((NEW.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000;
END;

CREATE TRIGGER workouts_insight_chunk_delete AFTER DELETE ON workouts
BEGIN
    UPDATE insight_chunks SET generation = generation + 1
    WHERE user_id = OLD.user_id
      AND span = (OLD.date_ms - ((OLD.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000;
END;

CREATE TRIGGER workouts_insight_chunk_update AFTER UPDATE ON workouts
BEGIN
    UPDATE insight_chunks SET generation = generation + 1
    WHERE user_id = OLD.user_id
      AND span = (OLD.date_ms - ((OLD.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000;
    INSERT OR IGNORE INTO insight_chunks (user_id, span, generation)
    VALUES (NEW.user_id,
            (NEW.date_ms - ((NEW.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000,
            0);
    UPDATE insight_chunks SET generation = generation + 1
    WHERE user_id = NEW.user_id
      AND span = (NEW.date_ms - ((NEW.date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000;
END;

-- The spans of the entries stored before this table existed: not packed
-- yet, the first insight over them packs them.
INSERT INTO insight_chunks (user_id, span, generation)
SELECT DISTINCT user_id,
       (date_ms - ((date_ms % 2592000000) + 2592000000) % 2592000000) / 2592000000,
       1
FROM workouts;
