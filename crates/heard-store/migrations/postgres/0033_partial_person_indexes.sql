-- The person indexes hold only rows with a person (issue: index size). Most events, signals and responses carry no
-- person key, and a full index stored an entry for each of those NULLs (about 30 bytes an event: 1.5 GB at 50 M
-- events) that no query reads. Every query that can use these indexes filters the key, so each still can:
--   inbox.rs, a person's timeline: `person_key = $2` (an equality implies NOT NULL);
--   event_log.rs, the log ordered by person: `x.person_key IS NOT NULL`;
--   insight_rows.rs, the per-person operations and asked-again counts: `person_key IS NOT NULL`.
-- Checked with EXPLAIN QUERY PLAN (SQLite) and EXPLAIN (PostgreSQL, also a generic plan of `person_key = $2`) on
-- each, on the schema before and after this migration: every plan that used a person index before uses the partial
-- one after (SQLite's plans are the same line for line; `INDEXED BY` the partial index is accepted for `= ?`), and
-- on PostgreSQL the per-person grouping and the log by person can use it. `reference_key` has no index to narrow.
DROP INDEX events_by_person;
CREATE INDEX events_by_person ON events(org_id, person_key) WHERE person_key IS NOT NULL;
DROP INDEX signals_by_person;
CREATE INDEX signals_by_person ON signals(org_id, person_key) WHERE person_key IS NOT NULL;
DROP INDEX responses_by_person;
CREATE INDEX responses_by_person ON responses(org_id, person_key) WHERE person_key IS NOT NULL;
