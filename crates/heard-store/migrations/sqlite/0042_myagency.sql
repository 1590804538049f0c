-- MyAgency (issue 21, item 6): a person signs in with a one-time link sent to their email or phone and sees, for
-- one organization, what is keyed by that address's person key (Sealer::person_key). Times are ms since the epoch.
-- Every query names the organization.

-- One-time sign-in links. Only the token's hash is kept (the token is derived from the link's id with the server
-- secret, Sealer::link_token, so the sending job can rebuild it); the address is sealed, for the job to send to.
-- A link opens once (`used_at`) and not after `expires_at` (15 minutes).
CREATE TABLE my_links (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    token_hash BLOB NOT NULL,
    person_key TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    address_sealed BLOB NOT NULL,
    language TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    sent_at INTEGER,
    -- Why it was not sent (no sender, opted out, provider refused), in words without personal data.
    send_note TEXT,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, token_hash)
);
CREATE INDEX my_links_by_person ON my_links (org_id, person_key, created_at);

-- A person's sessions, apart from staff sessions: the cookie's hash, the person key it opens, a CSRF token, and an
-- idle and an absolute expiry.
CREATE TABLE my_sessions (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    token_hash BLOB NOT NULL,
    person_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_hash)
);

-- How a person wants to be contacted and in which language, per person key.
CREATE TABLE my_preferences (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    person_key TEXT NOT NULL,
    contact TEXT NOT NULL CHECK (contact IN ('email', 'sms', 'none')),
    language TEXT NOT NULL CHECK (language IN ('en', 'es')),
    -- When the person withdrew consent and asked for their feedback to be deleted, and the deletion's audit row.
    withdrawn_at INTEGER,
    deletion_id BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, person_key)
);

-- The audit of deletions a person asked for: no personal data, only a short hash of the person key (8 hex digits
-- of SHA-256, enough to tell requests apart, not to find the person), what was deleted and when.
CREATE TABLE my_deletions (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    person_ref TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    finished_at INTEGER,
    responses INTEGER NOT NULL DEFAULT 0,
    signals INTEGER NOT NULL DEFAULT 0,
    callbacks_cancelled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX my_deletions_by_time ON my_deletions (org_id, requested_at);
