-- The durable job queue (heard_store::jobs). A job is enqueued in the same transaction as the data that causes it,
-- claimed by one worker at a time (FOR UPDATE SKIP LOCKED here; a lease on SQLite), retried with backoff and, after
-- max_attempts, left dead for an admin to see and retry. Times are milliseconds since the Unix epoch.
CREATE TABLE jobs (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    -- JSON, as the kind's handler reads it.
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at BIGINT NOT NULL,
    -- While running: when the claim lapses and another worker may take the job.
    locked_until BIGINT,
    -- While running: the token of the current claim. Completion and failure name it, so a worker whose claim lapsed
    -- and was taken over cannot complete the job a second time.
    claim UUID,
    last_error TEXT,
    -- Optional idempotency key: the same (org, kind, key) enqueues one job.
    dedupe_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (org_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_by_state ON jobs (org_id, state, updated_at);
