-- Migration 6: the gateway's raw archive (`gwmon gateway`): one row per frame received from a field
-- terminal, as hex, with the peer, the protocol, the station address (10 hex digits; '' when none
-- could be read) and what became of it. `gwmon gateway replay` decodes a station's rows again
-- with the current stations.csv. Rows older than [gateway] archive_max_age_days are deleted.

CREATE TABLE IF NOT EXISTS gateway_frames (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    peer        TEXT    NOT NULL,
    protocol    TEXT    NOT NULL,
    station     TEXT    NOT NULL,
    hex         TEXT    NOT NULL,
    outcome     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_frames_station ON gateway_frames (station, received_at);
CREATE INDEX IF NOT EXISTS gateway_frames_received ON gateway_frames (received_at);
