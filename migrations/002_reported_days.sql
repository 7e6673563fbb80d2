-- Migration 2: which days each intake reported, so that a year's withdrawal can carry the share
-- of obliged intake-days that reported (an incomplete year cannot pass quantity).
--
-- daily_volume.measured_s: seconds of the day covered by measured (not estimated) meter
-- intervals; an imported day counts as fully measured. A day "reported" when measured_s > 0.
-- monthly_volume.reported_days: the month's days with measured_s > 0.
--
-- Rows written before this migration did not record which shares were estimated: a day counts as
-- measured there unless its whole volume was estimated.

ALTER TABLE daily_volume ADD COLUMN measured_s INTEGER NOT NULL DEFAULT 0;
UPDATE daily_volume SET measured_s = CASE
    WHEN source = 'import' THEN 86400
    WHEN estimated_m3 < volume_m3 OR (volume_m3 = 0 AND estimated_m3 = 0) THEN covered_s
    ELSE 0 END;

ALTER TABLE monthly_volume ADD COLUMN reported_days INTEGER NOT NULL DEFAULT 0;
UPDATE monthly_volume SET reported_days = (
    SELECT count(*) FROM daily_volume AS d
    WHERE d.intake_id = monthly_volume.intake_id
      AND d.day >= monthly_volume.month || '-01' AND d.day <= monthly_volume.month || '-31'
      AND d.measured_s > 0);
