-- Event rollups kept on ingest (issue 18, item 1): the events page of a service and its CSV read these tables, never
-- every event. The ingestion API (`intake.rs`) and the bulk path (`bulk.rs`, imports and demo data) add each stored
-- event in the event's own transaction (`event_rollups.rs`); `heard rollups rebuild` and the `rollups.rebuild` job
-- (after a change of time zone) recompute an organization's rows from its events, with its response rollups (0024).
--
-- `day` is the organization's local day (days since 1970-01-01), as in `response_days`; a missing service or
-- touchpoint is the all-zero id.

-- Events per local day, service, touchpoint and type.
CREATE TABLE event_days (
    org_id UUID NOT NULL,
    service_id UUID NOT NULL,
    day BIGINT NOT NULL,
    touchpoint_id UUID NOT NULL,
    type TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_id, day, touchpoint_id, type)
);

-- Each measure of those events: how many carried it (`n`), their sum (`total`) and a quantile sketch (`sketch`,
-- heard_domain::sketch: DDSketch's logarithmic buckets as `INDEX:COUNT,...`, medians and 90th percentiles within 1%).
CREATE TABLE event_measure_days (
    org_id UUID NOT NULL,
    service_id UUID NOT NULL,
    day BIGINT NOT NULL,
    touchpoint_id UUID NOT NULL,
    type TEXT NOT NULL,
    measure TEXT NOT NULL,
    n BIGINT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    sketch TEXT NOT NULL,
    PRIMARY KEY (org_id, service_id, day, touchpoint_id, type, measure)
);

-- Organizations that already have events get them rolled up by the rebuild `heard serve` enqueues.
INSERT INTO rollups_pending (org_id, since, reason)
SELECT o.id, 0, 'migration' FROM organizations o WHERE EXISTS (SELECT 1 FROM events e WHERE e.org_id = o.id)
ON CONFLICT (org_id) DO NOTHING;
