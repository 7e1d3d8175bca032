DROP TABLE outbox_events; DROP TABLE outbox; DROP TABLE inbox_attachments; DROP TABLE inbox; DROP TABLE inbound_messages; DROP TABLE message_log;
