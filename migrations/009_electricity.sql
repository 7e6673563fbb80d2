-- Migration 9: electricity drawn by pumps of groundwater users below the metering duty
-- (`gwmon import --kind electricity`), for 以电折水: with the intake's m3_per_kwh, the volume of
-- a period is its kWh times the coefficient, spread over its days.
CREATE TABLE IF NOT EXISTS electricity (
    intake_id    TEXT NOT NULL,
    period_start TEXT NOT NULL,  -- first local day, YYYY-MM-DD
    period_end   TEXT NOT NULL,  -- last local day, inclusive
    kwh          REAL NOT NULL,
    PRIMARY KEY (intake_id, period_start)
) WITHOUT ROWID;
