-- Rules on signals, cases and events, and the tag action (issue 21, item 1). A rule's hit on a signal, on a case whose SLA
-- is about to breach, or on a burst of similar items is kept once per (rule, kind, key): the signal's id; the case's
-- id and the deadline at risk; or the theme and the period, so a burst fires its rule once. Tags are put on
-- responses and signals by rules, once per tag. Times are ms since the epoch.
CREATE TABLE rule_hits (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    rule_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal', 'case', 'event')),
    hit_key TEXT NOT NULL,
    item_id BLOB NOT NULL,
    case_id BLOB,
    matched_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, rule_id, kind, hit_key)
);
CREATE INDEX rule_hits_by_rule ON rule_hits (org_id, rule_id, matched_at);

CREATE TABLE item_tags (
    org_id BLOB NOT NULL REFERENCES organizations(id),
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal')),
    item_id BLOB NOT NULL,
    tag TEXT NOT NULL,
    rule_id BLOB,
    tagged_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind, item_id, tag)
);
CREATE INDEX item_tags_by_tag ON item_tags (org_id, tag, tagged_at);
