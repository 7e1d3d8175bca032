-- A manual retry of a failed mail starts a new round of attempts: the
-- give-up age counts from then (empty: from created_at).
ALTER TABLE mail_outbox ADD COLUMN round_at TEXT NOT NULL DEFAULT '';
-- A large document's signed mail is in the file store (gateway/blob),
-- named here and by its document's outbox row (outbox.files); body is then
-- empty.
ALTER TABLE mail_outbox ADD COLUMN body_file TEXT NOT NULL DEFAULT '';
