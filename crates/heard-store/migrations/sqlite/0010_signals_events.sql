-- Everything that happens to a person, through one door: signals (feedback nobody asked for) and operational
-- events, written through the ingestion API with an organization's API key. Persons and references are keyed
-- hashes per organization (never an email, phone number, customer id or case number); free text is stored redacted.
-- Each item's external_id is its idempotency key, stored with a keyed hash of the normalised item (request_hash):
-- the same id with the same item is a retry, with a different item it is refused and nothing is stored.

-- An organization's API keys. Only the SHA-256 of the secret is kept; the secret is shown once, when made.
CREATE TABLE api_keys (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (org_id, id)
);

-- Event types an organization declares beyond the default catalogue (heard-domain's data/event_types.json).
CREATE TABLE event_types (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    -- JSON: [{"name": "wait", "unit": "seconds" | "count"}]
    measures TEXT NOT NULL,
    -- JSON: ["queue", ...]
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);

CREATE TABLE signals (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL CHECK (author IN ('public', 'staff')),
    service_id BLOB,
    touchpoint_id BLOB,
    external_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    url TEXT,
    rating SMALLINT,
    language TEXT NOT NULL,
    -- Redacted. For a call transcript: its customer turns, the text that counts for sentiment and themes.
    text TEXT NOT NULL,
    -- JSON [{"speaker": "customer" | "agent", "text": redacted}] for transcripts, else NULL.
    turns TEXT,
    enrichment TEXT,
    sentiment TEXT,
    themes TEXT,
    urgent BOOLEAN NOT NULL DEFAULT FALSE,
    person_key TEXT,
    reference_key TEXT,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, source, external_id)
);
CREATE INDEX signals_by_time ON signals(org_id, occurred_at);
CREATE INDEX signals_by_person ON signals(org_id, person_key);

CREATE TABLE events (
    org_id BLOB NOT NULL,
    id BLOB NOT NULL,
    type TEXT NOT NULL,
    -- Who sent it: 'api', or a CloudEvents source.
    source TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    service_id BLOB,
    touchpoint_id BLOB,
    person_key TEXT,
    reference_key TEXT,
    -- JSON object: measure name to number (seconds or a count), as the event type declares.
    measures TEXT NOT NULL,
    -- JSON object: attribute name to string, number, boolean or null; strings redacted.
    attributes TEXT NOT NULL,
    external_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, external_id)
);
CREATE INDEX events_by_type ON events(org_id, type, occurred_at);
CREATE INDEX events_by_person ON events(org_id, person_key);
