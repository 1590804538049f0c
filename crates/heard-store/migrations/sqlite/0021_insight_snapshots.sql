-- Results of analyses that read row-level data (key drivers, barriers by customer characteristics, operational joins,
-- journeys): too costly to compute on each page view at millions of rows, they are computed by a job on the durable
-- queue and kept here; a page shows the newest snapshot with its time and n. One row per (organization, kind, scope,
-- period): a refresh replaces it.
CREATE TABLE insight_snapshots (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    -- What analysis: 'drivers', 'segments', 'operations', 'journey', ...
    kind TEXT NOT NULL,
    -- What it covers: '' for the whole organization, or 'service:<uuid>', 'journey:<id>', ...
    scope TEXT NOT NULL,
    -- The period: a fiscal quarter ('FY2026 Q1') or '' for all time.
    period TEXT NOT NULL,
    -- Milliseconds since the Unix epoch.
    computed_at INTEGER NOT NULL,
    -- How many responses (or events, for journeys) the analysis read.
    n INTEGER NOT NULL,
    -- The result, as JSON in the shape the kind's page reads.
    result TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, scope, period)
);
