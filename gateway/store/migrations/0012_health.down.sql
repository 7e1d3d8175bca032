DROP INDEX outbox_last_message; DROP TABLE health;
