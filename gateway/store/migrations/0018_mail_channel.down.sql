ALTER TABLE outbox DROP COLUMN mail_id;
DROP TABLE inbound_mail;
ALTER TABLE inbox DROP COLUMN sender_email;
ALTER TABLE inbox DROP COLUMN channel;
