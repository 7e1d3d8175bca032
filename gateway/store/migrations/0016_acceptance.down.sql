ALTER TABLE outbox DROP COLUMN receipt;
ALTER TABLE inbox DROP COLUMN needs_review;
ALTER TABLE inbox DROP COLUMN verdict_json;
