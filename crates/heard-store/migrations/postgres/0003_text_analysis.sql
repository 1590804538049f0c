-- What the text engine found in a response's free text, kept beside it so lists can filter and dashboards can flag
-- urgent responses without parsing JSON: the most negative sentiment label, theme ids as ",id,id," for exact
-- matching, and whether crisis or threat language was found.
ALTER TABLE responses ADD COLUMN sentiment TEXT;
ALTER TABLE responses ADD COLUMN themes TEXT;
ALTER TABLE responses ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX responses_urgent ON responses(org_id, urgent, submitted_at);
-- Lists and exports page through an organization's responses by time.
CREATE INDEX responses_by_time ON responses(org_id, submitted_at, id);

-- The original free text, only when the organization turns that on, sealed with the server key.
ALTER TABLE organizations ADD COLUMN keep_raw_text BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE response_raw_text (
    org_id UUID NOT NULL,
    response_id UUID NOT NULL,
    question_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (org_id, response_id, question_id)
);
