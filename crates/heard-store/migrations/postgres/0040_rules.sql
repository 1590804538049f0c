-- Rules (issue 21, item 1): "when a response matches, do this", as checked JSON (heard_domain::rules::RuleSpec).
-- A rule is made off, so its dry run can be read before it goes live; one that errors is turned off with the
-- reason. Each match is kept once per (rule, response), with the case it opened. Times are ms since the epoch.
CREATE TABLE rules (
    org_id UUID NOT NULL REFERENCES organizations(id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    matched BIGINT NOT NULL,
    last_matched_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE rule_matches (
    org_id UUID NOT NULL REFERENCES organizations(id),
    rule_id UUID NOT NULL,
    response_id UUID NOT NULL,
    case_id UUID,
    matched_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, rule_id, response_id)
);
