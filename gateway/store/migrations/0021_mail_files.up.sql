-- A manual retry of a failed mail starts a new round of attempts: the
-- give-up age counts from then (empty: from created_at).
ALTER TABLE mail_outbox ADD COLUMN round_at TEXT NOT NULL DEFAULT '';
