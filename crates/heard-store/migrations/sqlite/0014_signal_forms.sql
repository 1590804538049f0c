-- Signals from Heard's own forms (issue 17): the public "Report a problem" page of a service and the frontline staff
-- observation form in the admin. Both are written by the ingestion API's insert; these add what only a form knows.

-- Structured answers beside the text (a staff member's how often, what would fix it, roughly how many people; a
-- person's wish for a reply), a JSON object; its strings are redacted like the text. NULL for API signals.
ALTER TABLE signals ADD COLUMN attributes TEXT;
-- The staff account that sent an observation (users.id), set from the session. A column, not an attribute: it is
-- the server's fact about who sent it, never a client's value, and "my recent observations" is looked up by it.
ALTER TABLE signals ADD COLUMN sent_by BLOB;
CREATE INDEX signals_by_sender ON signals(org_id, sent_by, received_at);

-- How to reach a person who asked for a reply, sealed with the server's key and kept apart from analytics, like
-- response_contacts; the signal keeps only the keyed person hash.
CREATE TABLE signal_contacts (
    org_id BLOB NOT NULL,
    signal_id BLOB NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (org_id, signal_id)
);
