-- Migration 4: quarantine rows looked up by origin. An imported row that is refused again (the
-- same file imported twice) is not quarantined twice: its origin, `import:<file> line <n>`, and
-- reason find the earlier row.

CREATE INDEX IF NOT EXISTS quarantine_by_origin ON quarantine (origin);
