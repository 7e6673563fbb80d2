-- What a terminal sent for each level reading ('depth' from the measuring point, 'level' above
-- the datum, or 'both'), so that a corrected datum re-derives the rest. NULL on readings stored
-- before this migration: they keep the figures derived when they arrived.
ALTER TABLE level_readings ADD COLUMN sent TEXT;
ALTER TABLE level_readings ADD COLUMN sent_m REAL;

-- The datum history each well's stored levels were last derived with (a fingerprint of its
-- versions): a well whose history changed since is derived again when the store opens.
CREATE TABLE IF NOT EXISTS level_datums (
    well_id     TEXT    NOT NULL PRIMARY KEY,
    fingerprint TEXT    NOT NULL
) WITHOUT ROWID;
