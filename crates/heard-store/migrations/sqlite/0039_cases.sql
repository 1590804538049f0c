-- Cases (issue 21, item 2): an organization's teams, its case settings (statuses of its own and the SLA policy, as
-- JSON checked by heard_domain::case::CaseSettings), its cases with the summary of their SLA, what each case is
-- linked to, and each case's append-only history. Times are ms since the epoch. A case belongs to one organization,
-- and every query names it.

CREATE TABLE case_teams (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name)
);

-- One row per organization that has set anything or opened a case; `next_number` numbers its cases 1, 2, 3 ...
CREATE TABLE case_settings (
    org_id BLOB NOT NULL PRIMARY KEY REFERENCES organizations(id),
    settings TEXT NOT NULL,
    next_number INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The case now: each field is the last history entry that set it. `sla_flag` (breached, at_risk, running, paused,
-- done, none), `due_at` (the earliest deadline of an open target) and `escalation_level` summarize the SLA at
-- `updated_at` (heard_domain::case::summarize); `next_check_at` is when the escalation job looks again.
CREATE TABLE cases (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    id BLOB NOT NULL,
    number INTEGER NOT NULL,
    -- What the person types or reads on the phone to find their case's status page: 8 characters of Crockford's
    -- base 32 (heard_domain::case::status_code), random, unique in the organization.
    status_code TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    ended BOOLEAN NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    source TEXT NOT NULL CHECK (source IN ('staff', 'crisis', 'rule')),
    owner_id BLOB,
    team_id BLOB,
    service_id BLOB,
    person_key TEXT,
    response_id BLOB,
    opened_by BLOB,
    opened_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_public_update_at INTEGER,
    ended_at INTEGER,
    root_cause TEXT,
    resolved BOOLEAN,
    sla_flag TEXT NOT NULL,
    due_at INTEGER,
    escalation_level INTEGER NOT NULL,
    next_check_at INTEGER,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, number),
    UNIQUE (org_id, status_code)
);
CREATE INDEX cases_open_by_due ON cases (org_id, ended, due_at);
CREATE INDEX cases_by_owner ON cases (org_id, owner_id, ended);
CREATE INDEX cases_by_team ON cases (org_id, team_id, ended);
-- One crisis case per response, even if the writer's commit were replayed.
CREATE UNIQUE INDEX cases_crisis_response ON cases (org_id, response_id) WHERE source = 'crisis';

CREATE TABLE case_links (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    case_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal', 'event')),
    target_id BLOB NOT NULL,
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, case_id, kind, target_id)
);
CREATE INDEX case_links_by_target ON case_links (org_id, kind, target_id);

-- Every change, numbered from 1 per case; `actor_id` is the member who made it (none for the system). Rows are
-- never updated: the trigger refuses it.
CREATE TABLE case_history (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    case_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id BLOB,
    kind TEXT NOT NULL,
    value TEXT,
    body TEXT,
    PRIMARY KEY (org_id, case_id, seq)
);
CREATE TRIGGER case_history_append_only BEFORE UPDATE ON case_history
BEGIN
    SELECT RAISE(ABORT, 'case history is append-only');
END;
