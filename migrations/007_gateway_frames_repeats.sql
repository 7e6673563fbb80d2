-- Migration 7: a row of the gateway's archive may stand for a run of identical-outcome frames
-- from one connection (bad CRCs one after another): `repeats` is how many, the hex the first.
ALTER TABLE gateway_frames ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
