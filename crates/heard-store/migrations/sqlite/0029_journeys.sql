-- Journey definitions as data (issue 18, item 6): ordered stages mapped to activities and touchpoints, one row per
-- journey of an organization, edited by its admins in the admin or through the API. `definition` is the JSON of
-- heard_insight::journeys::JourneyDefinition, validated before it is written. Results are computed by the
-- `journeys.refresh` job into insight_snapshots (kind 'journey', scope 'journey:<id>').
CREATE TABLE journeys (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    -- The journey's short name: lower-case letters, digits and hyphens, as in its address.
    id TEXT NOT NULL,
    definition TEXT NOT NULL,
    -- Milliseconds since the Unix epoch.
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
