ALTER TABLE mail_outbox DROP COLUMN body_file;
ALTER TABLE mail_outbox DROP COLUMN round_at;
