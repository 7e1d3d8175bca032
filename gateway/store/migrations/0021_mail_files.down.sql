ALTER TABLE mail_outbox DROP COLUMN round_at;
