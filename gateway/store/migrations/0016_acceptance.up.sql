-- The acceptance policy (gateway/acceptance) judges received documents
-- before the AIS sees them: inbox.state 'checking' until its verdict, which
-- is kept as JSON ('' when no policy judged the document); needs_review
-- marks a document the policy held for a clerk.
ALTER TABLE inbox ADD COLUMN verdict_json TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN needs_review INTEGER NOT NULL DEFAULT 0;
-- The confirmation of receipt a recipient sent with DS_REGISTERED (its
-- DocAddData), for a document we sent.
ALTER TABLE outbox ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
