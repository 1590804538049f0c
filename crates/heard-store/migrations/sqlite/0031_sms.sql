-- Two-way SMS surveys by the Twilio protocol (issue 20, items 2, 3 and 7). Phone numbers of people are never kept in
-- clear: `phone_key` is the keyed hash per organization that every channel gives a phone (Sealer::person_key of the
-- E.164 number), and where the number is needed to send, it is sealed (Sealer::seal) in `phone_sealed`.

-- An organization's sending numbers. The webhook `POST /hooks/sms/{id}` finds its sender by id alone, so ids are
-- unique across organizations. The auth token is sealed; `help_contact` is what HELP answers with.
CREATE TABLE sms_senders (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL UNIQUE,
    -- The sender's own number, E.164 (not personal data).
    phone_number TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    auth_token_sealed BLOB NOT NULL,
    help_contact TEXT NOT NULL,
    -- Milliseconds since the Unix epoch.
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One survey conversation with one person: heard_channels::sms::Conversation's state (step, language, scale,
-- re-prompts used), the survey version its answers go to, and its answers so far (sealed JSON) until it ends.
CREATE TABLE sms_conversations (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    sender_id BLOB NOT NULL,
    phone_key TEXT NOT NULL,
    phone_sealed BLOB NOT NULL,
    person_key TEXT NOT NULL,
    survey_id BLOB NOT NULL,
    survey_version INTEGER NOT NULL,
    step TEXT NOT NULL CHECK (step IN ('trust', 'what_happened', 'comment', 'done')),
    lang TEXT NOT NULL CHECK (lang IN ('en', 'es')),
    scale TEXT NOT NULL CHECK (scale IN ('one_to_five', 'yes_no')),
    reprompts INTEGER NOT NULL,
    answers_sealed BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, sender_id) REFERENCES sms_senders(org_id, id)
);
-- A person's latest conversation on a sender: what an inbound message continues.
CREATE INDEX sms_conversations_phone ON sms_conversations (org_id, sender_id, phone_key, created_at);

-- Messages in and out. A provider's message id (Twilio's MessageSid) is unique per organization, so a replayed
-- webhook stores nothing; an outbound message has none until the provider accepted it. Bodies are not kept (answers
-- go through the pipeline, which redacts them).
CREATE TABLE sms_messages (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    sender_id BLOB NOT NULL,
    conversation_id BLOB,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    provider_message_id TEXT,
    -- Twilio's states: received, queued, sending, sent, delivered, undelivered, failed, ...
    status TEXT NOT NULL,
    segments INTEGER,
    error_code TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, provider_message_id)
);

-- Every consent change, kept forever: the number (as its key), what happened, when, the message that caused it.
CREATE TABLE sms_consent_log (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    phone_key TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
    keyword TEXT NOT NULL,
    provider_message_id TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX sms_consent_log_phone ON sms_consent_log (org_id, phone_key, at);

-- The numbers opted out now (of everything the organization sends), checked at send time.
CREATE TABLE sms_opt_outs (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    phone_key TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (org_id, phone_key)
);
