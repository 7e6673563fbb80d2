-- Migration 8: meter replacements entered by hand (`gwmon meter replace`, or an import of kind
-- replacement): at `at` the old meter's last total was `old_final` and the new one started at
-- `new_start`. The interval of readings around `at` draws old_final − (the reading before) on
-- the old meter and (the reading after) − new_start on the new one, so a refurbished meter that
-- starts higher is no withdrawal.
CREATE TABLE IF NOT EXISTS meter_replacements (
    intake_id  TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    old_final  REAL    NOT NULL,
    new_start  REAL    NOT NULL,
    entered_at INTEGER NOT NULL,
    PRIMARY KEY (intake_id, at)
) WITHOUT ROWID;
