-- Email survey outreach (issue 20, item 4): an organization's SMTP sender, the email survey invitations it sends
-- (distinct from staff invitations in 0004), and the addresses it must not write to again. Addresses, passwords and
-- DKIM keys are sealed (heard_server::crypto); analytics keep only the person key. Times are ms since the epoch.
CREATE TABLE email_senders (
    org_id UUID NOT NULL PRIMARY KEY REFERENCES organizations(id),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    -- 'tls' (implicit TLS, usually 465), 'starttls' (usually 587) or 'none' (loopback relays and tests only).
    tls_mode TEXT NOT NULL CHECK (tls_mode IN ('tls', 'starttls', 'none')),
    username TEXT,
    password_sealed BYTEA,
    from_address TEXT NOT NULL,
    from_name TEXT,
    dkim_selector TEXT,
    dkim_domain TEXT,
    dkim_key_sealed BYTEA,
    updated_at BIGINT NOT NULL
);

CREATE TABLE email_invitations (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    survey_id UUID NOT NULL,
    survey_version INTEGER NOT NULL,
    person_key TEXT NOT NULL,
    address_sealed BYTEA NOT NULL,
    -- The keyed hash of the lower-cased address: what suppressions are matched on.
    address_hash TEXT NOT NULL,
    -- The language the email is written in and the survey page opens in (a BCP 47 primary tag, as Lang).
    language TEXT NOT NULL,
    -- SHA-256 (hex) of the single-use link's token; the token itself is only in the email.
    token_hash TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'reminded', 'opened', 'answered', 'bounced', 'unsubscribed')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    sent_at BIGINT,
    reminded_at BIGINT,
    opened_at BIGINT,
    answered_at BIGINT,
    bounced_at BIGINT,
    unsubscribed_at BIGINT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, survey_id, survey_version) REFERENCES survey_versions(org_id, survey_id, version)
);
CREATE INDEX email_invitations_by_survey ON email_invitations(org_id, survey_id, state);
CREATE INDEX email_invitations_by_address ON email_invitations(org_id, address_hash);

CREATE TABLE email_suppressions (
    org_id UUID NOT NULL REFERENCES organizations(id),
    address_hash TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribe', 'bounce', 'complaint')),
    -- What caused it: 'one-click', 'unsubscribe-page', 'dsn:<status>', 'admin', ...
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, address_hash)
);
