-- Invitations from what happened, and batches (issue 20, item 1): the rules an admin edits, the contacts events'
-- persons are invited at, batches of contacts, and the outbound queue every invitation waits in until it is handed
-- off to the email or SMS sender. Contact details are sealed (heard_server::crypto::Sealer) and matched by their keyed
-- hash (Sealer::person_key of the E.164 number or the lower-cased address: the same hash SMS opt-outs and email
-- suppressions use); analytics keep only the person key. Times are ms since the epoch.

-- "After an event of type X (at service Y / touchpoint Z), invite by SMS or email to survey S after D minutes."
CREATE TABLE outreach_rules (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    event_type TEXT NOT NULL,
    service_id UUID,
    touchpoint_id UUID,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    survey_id UUID NOT NULL,
    delay_minutes BIGINT NOT NULL CHECK (delay_minutes >= 0),
    -- The share of the events' people invited, 0 to 100 (a keyed hash of rule and person decides who).
    sample_percent INTEGER NOT NULL CHECK (sample_percent BETWEEN 0 AND 100),
    -- No person is asked more than once in this many days, across channels, rules and batches.
    cap_days INTEGER NOT NULL CHECK (cap_days > 0),
    paused BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX outreach_rules_by_type ON outreach_rules (org_id, event_type);

-- Where a person (by person key) may be invited on a channel: given through POST /api/v1/outreach/contacts.
CREATE TABLE outreach_contacts (
    org_id UUID NOT NULL REFERENCES organizations(id),
    person_key TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    contact_sealed BYTEA NOT NULL,
    contact_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    time_zone TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, person_key, channel)
);

-- A list of contacts invited at once (an admin's CSV upload or the API), keyed for retries.
CREATE TABLE outreach_batches (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('upload', 'api')),
    survey_id UUID NOT NULL,
    survey_version INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    contacts INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, idempotency_key)
);

-- One invitation waiting, handed off, or not sent (and why).
CREATE TABLE outreach_queue (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    -- What made it: a rule and the event it followed, or a batch.
    rule_id UUID,
    event_id UUID,
    batch_id UUID,
    survey_id UUID NOT NULL,
    survey_version INTEGER,
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    person_key TEXT NOT NULL,
    contact_sealed BYTEA,
    contact_hash TEXT,
    language TEXT NOT NULL,
    time_zone TEXT,
    cap_days INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'held', 'sent', 'skipped')),
    reason TEXT CHECK (reason IN ('quiet_hours', 'contact_cap', 'opted_out', 'suppressed', 'sampled_out',
        'no_sender', 'no_contact', 'not_published')),
    -- When the reason ends (the contact cap), for the queue page.
    reason_until BIGINT,
    handed_off_at BIGINT,
    -- The email invitation's id, or the sms.invite job's id.
    handoff_id UUID,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    -- The same event never makes two items for a rule.
    UNIQUE (org_id, rule_id, event_id)
);
CREATE INDEX outreach_queue_due ON outreach_queue (org_id, state, due_at);
CREATE INDEX outreach_queue_person ON outreach_queue (org_id, person_key, handed_off_at);
