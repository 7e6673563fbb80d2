-- Two questions `status` asks of daily_volume that no key answers: each intake's last imported
-- day with measured volume (metered days that came by file count as reporting), and the days
-- with volume flagged as an implausible counter jump. Without these, both read the whole table
-- (5,000 intakes × 5 years: about half a second each). Partial: only such rows are indexed, so
-- the live ingest path, which writes neither, does not pay for them.
CREATE INDEX IF NOT EXISTS daily_volume_imported
    ON daily_volume (intake_id, day) WHERE source = 'import' AND measured_s > 0;
CREATE INDEX IF NOT EXISTS daily_volume_flagged
    ON daily_volume (day) WHERE flagged_m3 > 0;
