-- The admin's views on signals and events (issue 17, item 7).
-- The signals inbox lists urgent signals first, then newest, and pages by that order (keyset on urgent,
-- occurred_at, id): one index walk per page at any depth.
CREATE INDEX signals_inbox ON signals(org_id, urgent, occurred_at, id);
-- The events view of one service counts and measures its events by local week: one range scan per week.
CREATE INDEX events_by_service ON events(org_id, service_id, occurred_at);
-- A person's timeline reads their responses beside their signals and events (which have such indexes already).
CREATE INDEX responses_by_person ON responses(org_id, person_key);
