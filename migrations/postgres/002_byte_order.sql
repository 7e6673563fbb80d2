-- gwmon store schema for PostgreSQL, migration 2: every text column compares byte by byte
-- (COLLATE "C"), as SQLite's BINARY collation does. Ids, days and months then sort the same on
-- both stores (a report lists intakes in one order whichever store it reads), and the keys'
-- comparisons in the indexes skip the locale's rules, which were most of a lookup's cost.
ALTER TABLE meter_readings
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C",
    ALTER COLUMN source TYPE TEXT COLLATE "C";
ALTER TABLE level_readings
    ALTER COLUMN well_id TYPE TEXT COLLATE "C",
    ALTER COLUMN source TYPE TEXT COLLATE "C",
    ALTER COLUMN sent TYPE TEXT COLLATE "C";
ALTER TABLE quarantine
    ALTER COLUMN origin TYPE TEXT COLLATE "C",
    ALTER COLUMN reason_code TYPE TEXT COLLATE "C",
    ALTER COLUMN reason TYPE TEXT COLLATE "C";
ALTER TABLE meter_events
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN detail TYPE TEXT COLLATE "C";
ALTER TABLE daily_volume
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C",
    ALTER COLUMN day TYPE TEXT COLLATE "C",
    ALTER COLUMN source TYPE TEXT COLLATE "C";
ALTER TABLE monthly_volume
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C",
    ALTER COLUMN month TYPE TEXT COLLATE "C";
ALTER TABLE daily_level
    ALTER COLUMN well_id TYPE TEXT COLLATE "C",
    ALTER COLUMN day TYPE TEXT COLLATE "C";
ALTER TABLE monthly_level
    ALTER COLUMN well_id TYPE TEXT COLLATE "C",
    ALTER COLUMN month TYPE TEXT COLLATE "C";
ALTER TABLE access_tokens
    ALTER COLUMN scope TYPE TEXT COLLATE "C",
    ALTER COLUMN note TYPE TEXT COLLATE "C";
ALTER TABLE gateway_frames
    ALTER COLUMN peer TYPE TEXT COLLATE "C",
    ALTER COLUMN protocol TYPE TEXT COLLATE "C",
    ALTER COLUMN station TYPE TEXT COLLATE "C",
    ALTER COLUMN hex TYPE TEXT COLLATE "C",
    ALTER COLUMN outcome TYPE TEXT COLLATE "C";
ALTER TABLE meter_replacements
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C";
ALTER TABLE electricity
    ALTER COLUMN intake_id TYPE TEXT COLLATE "C",
    ALTER COLUMN period_start TYPE TEXT COLLATE "C",
    ALTER COLUMN period_end TYPE TEXT COLLATE "C";
ALTER TABLE level_datums
    ALTER COLUMN well_id TYPE TEXT COLLATE "C",
    ALTER COLUMN fingerprint TYPE TEXT COLLATE "C";
