-- File imports (`heard import`): one row per (organization, kind, content), so running the same command on the same
-- file again continues after the last committed batch. Each batch's rows and the new position commit in one
-- transaction, so the position never runs ahead of (or behind) what is stored.
CREATE TABLE imports (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    -- response, signal or event.
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal', 'event')),
    -- SHA-256 (hex) of what makes a re-run the same import: the file's bytes, the kind, the mapping and the survey.
    content_hash TEXT NOT NULL,
    -- The file's name as given (for people; never read back as a path).
    name TEXT NOT NULL,
    -- Records (rows or lines) read up to the end of the last committed batch: a re-run skips this many.
    position BIGINT NOT NULL DEFAULT 0,
    batches INTEGER NOT NULL DEFAULT 0,
    created_rows BIGINT NOT NULL DEFAULT 0,
    duplicate_rows BIGINT NOT NULL DEFAULT 0,
    -- Rows in batches that were refused (nothing of such a batch is stored).
    refused_rows BIGINT NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- When the whole file had been read; NULL while it has not.
    finished_at INTEGER,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, kind, content_hash)
);
