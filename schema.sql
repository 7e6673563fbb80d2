-- gwmon store schema, migration 1: the schema as first released. Applied by src/store/migrate.rs,
-- which records it as PRAGMA user_version = 1. Never edited: a schema change is a new numbered
-- migration (migrations/NNN_what.sql), so existing stores reach it by the same steps as new ones.
--
-- Times are epoch seconds (UTC instants); `day` columns are local calendar days (YYYY-MM-DD) in
-- the configured zone (Asia/Shanghai). Volumes in m³, levels and depths in m.
-- Raw readings are keyed by (device, ts): a resent identical reading is a no-op, the same key with
-- a different value is quarantined as a conflict. Daily tables are derived from the raw readings
-- and kept current as readings land.

-- Cumulative meter totals as received.
CREATE TABLE IF NOT EXISTS meter_readings (
    intake_id   TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    total_m3    REAL    NOT NULL,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,  -- 'mqtt' or 'import'
    PRIMARY KEY (intake_id, ts)
) WITHOUT ROWID;

-- Water levels: depth below ground and level above the datum (one converted from the other with
-- the well's ground elevation when only one was sent).
CREATE TABLE IF NOT EXISTS level_readings (
    well_id     TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    depth_m     REAL    NOT NULL,
    level_m     REAL    NOT NULL,
    received_at INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    PRIMARY KEY (well_id, ts)
) WITHOUT ROWID;

-- Everything refused, with the reason.
CREATE TABLE IF NOT EXISTS quarantine (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    origin      TEXT    NOT NULL,  -- MQTT topic (escaped, ≤ 256 bytes), or import:<file>:<line>
    payload     BLOB    NOT NULL,  -- the offending payload or element(s) (first 4 KiB)
    reason_code TEXT    NOT NULL,  -- malformed_json, unknown_device, conflict, ...
    reason      TEXT    NOT NULL   -- ≤ 1 KiB; migration 3 adds `elements`, one row per message
);
CREATE INDEX IF NOT EXISTS quarantine_by_reason ON quarantine (reason_code, received_at);

-- Counter events found by the counter rules, at the reading that revealed them.
CREATE TABLE IF NOT EXISTS meter_events (
    intake_id   TEXT    NOT NULL,
    ts          INTEGER NOT NULL,  -- the reading that ends the interval
    kind        TEXT    NOT NULL,  -- reset | replacement | jitter | spike
    prev_ts     INTEGER NOT NULL,
    prev_total  REAL    NOT NULL,
    total       REAL    NOT NULL,
    volume_m3   REAL    NOT NULL,  -- volume assigned to the interval
    detail      TEXT    NOT NULL,
    PRIMARY KEY (intake_id, ts, kind)
) WITHOUT ROWID;

-- Daily abstraction per intake (local days). volume_m3 includes the estimated and flagged parts,
-- which are also given separately. source: 'meter' (from totals) or 'import' (daily history).
CREATE TABLE IF NOT EXISTS daily_volume (
    intake_id    TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    volume_m3    REAL    NOT NULL,
    estimated_m3 REAL    NOT NULL,
    flagged_m3   REAL    NOT NULL,
    covered_s    INTEGER NOT NULL,  -- seconds of the day covered by meter intervals
    source       TEXT    NOT NULL,
    -- Running sums within the calendar year up to and including this day, so that any
    -- year-to-date or window figure is two index lookups, not a scan.
    cum_year_m3     REAL NOT NULL DEFAULT 0,
    cum_year_est_m3 REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (intake_id, day)
) WITHOUT ROWID;

-- Monthly abstraction per intake (local months, YYYY-MM), the sum of daily_volume.
CREATE TABLE IF NOT EXISTS monthly_volume (
    intake_id    TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    volume_m3    REAL    NOT NULL,
    estimated_m3 REAL    NOT NULL,
    flagged_m3   REAL    NOT NULL,
    days         INTEGER NOT NULL,  -- days with a daily_volume row
    PRIMARY KEY (intake_id, month)
) WITHOUT ROWID;

-- Daily water-level statistics per well (level above datum, depth below ground).
CREATE TABLE IF NOT EXISTS daily_level (
    well_id      TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    mean_level_m REAL    NOT NULL,
    min_level_m  REAL    NOT NULL,
    max_level_m  REAL    NOT NULL,
    mean_depth_m REAL    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (well_id, day)
) WITHOUT ROWID;

-- Monthly water level per well: the mean of the daily means (each day weighs the same).
CREATE TABLE IF NOT EXISTS monthly_level (
    well_id      TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    mean_level_m REAL    NOT NULL,
    mean_depth_m REAL    NOT NULL,
    days         INTEGER NOT NULL,
    PRIMARY KEY (well_id, month)
) WITHOUT ROWID;
