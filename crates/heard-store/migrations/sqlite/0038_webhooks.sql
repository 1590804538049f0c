-- Signed webhooks (issue 21, item 4): an organization's endpoints, the events they are sent (Standard Webhooks:
-- https://www.standardwebhooks.com/), one delivery per endpoint and event, and every attempt of it. Times are ms
-- since the epoch. An endpoint belongs to one organization and only ever gets its events.

-- Where events go. `event_types` is the chosen types between commas (",response.received,crisis.detected,") so one
-- LIKE finds the endpoints of a type. Secrets (`whsec_` and base64) are sealed by the server
-- (heard_server::crypto::Sealer); after a rotation the previous one keeps signing beside the new one until
-- `previous_until`.
CREATE TABLE webhook_endpoints (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    event_types TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    secret_sealed BLOB NOT NULL,
    previous_secret_sealed BLOB,
    previous_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One event, as sent: `id` is the `webhook-id` header (`msg_` and the id's simple form), the same on every attempt
-- and replay; `payload` the exact body.
CREATE TABLE webhook_messages (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    event_type TEXT NOT NULL,
    -- What it is about (a response's id), for the admin.
    subject_id BLOB NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One event to one endpoint: `pending` until a 2xx (`delivered`), or `failed` after the last scheduled attempt, or
-- `cancelled` when the endpoint was paused; a replay puts it back to `pending`.
CREATE TABLE webhook_deliveries (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    endpoint_id BLOB NOT NULL,
    message_id BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, endpoint_id, message_id)
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (org_id, endpoint_id, created_at);

-- Every attempt: the HTTP status (none when no answer came), how long it took, why it failed (a cause, never the
-- receiver's body), and when the next one is due (none when it was the last, or it succeeded).
CREATE TABLE webhook_attempts (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    delivery_id BLOB NOT NULL,
    attempt INTEGER NOT NULL,
    replay BOOLEAN NOT NULL,
    attempted_at INTEGER NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT,
    next_retry_at INTEGER,
    PRIMARY KEY (org_id, delivery_id, attempt)
);
