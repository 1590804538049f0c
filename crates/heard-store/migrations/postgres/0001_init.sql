-- Heard's first schema. Every tenant-owned table leads its primary key with org_id (PRODUCT.md), so PostgreSQL can be
-- sharded by organization. Ids are UUIDv7 (native uuid here), times are milliseconds since the Unix epoch.

CREATE TABLE organizations (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id UUID NOT NULL REFERENCES organizations(id),
    user_id UUID NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);

CREATE TABLE services (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE touchpoints (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    service_id UUID NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, service_id) REFERENCES services(org_id, id)
);

CREATE TABLE surveys (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    service_id UUID NOT NULL,
    touchpoint_id UUID,
    name TEXT NOT NULL,
    draft TEXT NOT NULL,
    published_version INTEGER,
    allowed_origins TEXT NOT NULL,
    transaction_point TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, service_id) REFERENCES services(org_id, id)
);

CREATE TABLE survey_versions (
    org_id UUID NOT NULL,
    survey_id UUID NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by UUID,
    PRIMARY KEY (org_id, survey_id, version),
    FOREIGN KEY (org_id, survey_id) REFERENCES surveys(org_id, id)
);

CREATE TABLE responses (
    org_id UUID NOT NULL,
    id UUID NOT NULL,
    survey_id UUID NOT NULL,
    survey_version INTEGER NOT NULL,
    service_id UUID NOT NULL,
    touchpoint_id UUID,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    page_path TEXT,
    submitted_at BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    answers TEXT NOT NULL,
    trust SMALLINT,
    trust_positive BOOLEAN,
    person_key TEXT,
    enrichment TEXT,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, survey_id, idempotency_key)
);
CREATE INDEX responses_by_survey ON responses(org_id, survey_id, submitted_at);
CREATE INDEX responses_by_service ON responses(org_id, service_id, submitted_at);

-- Contact details given in answers (email, phone), sealed with the server's key and kept apart from analytics.
CREATE TABLE response_contacts (
    org_id UUID NOT NULL,
    response_id UUID NOT NULL,
    question_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (org_id, response_id, question_id)
);

-- Real displays of a survey (page rendered, widget opened): A-11's "customers offered the survey".
CREATE TABLE displays (
    org_id UUID NOT NULL,
    survey_id UUID NOT NULL,
    channel TEXT NOT NULL,
    day BIGINT NOT NULL,
    shown BIGINT NOT NULL,
    PRIMARY KEY (org_id, survey_id, channel, day)
);

-- Customers served per service and fiscal quarter, entered by staff: A-11's "volume of customers".
CREATE TABLE service_volumes (
    org_id UUID NOT NULL,
    service_id UUID NOT NULL,
    fiscal_year INTEGER NOT NULL,
    quarter INTEGER NOT NULL,
    customers BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_id, fiscal_year, quarter)
);
