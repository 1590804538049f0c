-- Callbacks (issue 21, item 3): a person asks to be called in a window at a number (sealed; `phone_key` is its
-- keyed hash per organization, the one opt-outs use). One scheduled callback per case and per response at a time:
-- asking again moves it. `unanswered` counts calls that found nobody, `windows_missed` windows that ended with
-- nobody reached (heard_domain::callback). Times are ms since the epoch. Every query names the organization.
CREATE TABLE callbacks (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    case_id UUID,
    response_id UUID,
    source TEXT NOT NULL CHECK (source IN ('thank_you', 'status', 'sms', 'staff')),
    state TEXT NOT NULL CHECK (state IN ('scheduled', 'completed', 'missed', 'cancelled')),
    phone_sealed BYTEA NOT NULL,
    phone_key TEXT NOT NULL,
    email_sealed BYTEA,
    notify TEXT NOT NULL CHECK (notify IN ('sms', 'email', 'none')),
    language TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    unanswered BIGINT NOT NULL,
    windows_missed BIGINT NOT NULL,
    missed_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX callbacks_queue ON callbacks (org_id, state, window_start);
CREATE INDEX callbacks_by_person ON callbacks (org_id, phone_key);
CREATE UNIQUE INDEX callbacks_scheduled_case ON callbacks (org_id, case_id)
    WHERE state = 'scheduled' AND case_id IS NOT NULL;
CREATE UNIQUE INDEX callbacks_scheduled_response ON callbacks (org_id, response_id)
    WHERE state = 'scheduled' AND response_id IS NOT NULL;

-- What happened to a callback, in order: asked, moved, each call and its outcome, windows missed, messages sent to
-- the person, the end. Only ever appended.
CREATE TABLE callback_events (
    org_id UUID NOT NULL REFERENCES organizations(id),
    callback_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT,
    note TEXT,
    actor_id UUID,
    PRIMARY KEY (org_id, callback_id, seq)
);
