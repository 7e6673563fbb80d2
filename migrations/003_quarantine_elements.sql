-- Migration 3: one quarantine row per refused message, and an index for retention.
--
-- quarantine.elements: how many elements of the message were refused (decoding's refusals and
-- conflicts together). A message is one row however long its backlog array: the reason then
-- reads "N of M elements refused: <first reasons>", the payload holds the first refused elements
-- one per line (first 4 KiB), and the origin is the topic escaped and cut to 256 bytes. Rows
-- written before this migration held one element each.
--
-- quarantine_by_time: `[quarantine] max_age_days` and `max_rows` delete the oldest rows first.

ALTER TABLE quarantine ADD COLUMN elements INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (received_at);
