-- Figures from rollups kept on ingest (issue 18, items 1 and 2). Dashboards, the A-11 statistics page and the
-- overview's counts read these tables, never every response. The group-commit writer (`writer.rs`) and the bulk path
-- (`bulk.rs`, imports and demo data) add each committed response to them in the response's own transaction
-- (`rollups.rs`: a batch is aggregated in Rust, then one upsert per distinct key). No path deletes or changes the
-- columns counted here; `heard rollups rebuild` recomputes an organization's rows from its responses.
--
-- `day` is the organization's local calendar day (its IANA time zone, `organizations.time_zone`) as days since
-- 1970-01-01, so local weeks and fiscal quarters are sums of whole days. A change of time zone marks the organization
-- in `rollups_pending` and enqueues a rebuild job (`rollups.rebuild`); pages say so until it is done.

-- Responses per local day, survey version, service, touchpoint (the all-zero id when none), channel and language.
-- `trust_answered` counts trust answers, `trust_positive` the positive ones (thumbs up, or 4-5 on the scale);
-- `scale_n` and `scale_sum` the trust answers given on the 1-5 scale and their sum (a thumbs answer has no mean).
CREATE TABLE response_days (
    org_id UUID NOT NULL,
    day BIGINT NOT NULL,
    survey_id UUID NOT NULL,
    survey_version INTEGER NOT NULL,
    service_id UUID NOT NULL,
    touchpoint_id UUID NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    responses BIGINT NOT NULL,
    trust_answered BIGINT NOT NULL,
    trust_positive BIGINT NOT NULL,
    scale_n BIGINT NOT NULL,
    scale_sum BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, survey_id, survey_version, service_id, touchpoint_id, channel, language)
) WITH (fillfactor = 70);
CREATE INDEX response_days_by_survey ON response_days(org_id, survey_id, day);
CREATE INDEX response_days_by_service ON response_days(org_id, service_id, day);

-- Answers to closed questions (agreement scale, thumbs, yes/no, single and multiple choice) per local day, survey
-- version, question id and value (the answer as text: `4`, `yes`, `ease`; each chosen option of a multiple choice
-- counts once), split by the response's trust answer (`trust_positive`: 1 positive, 0 negative, -1 none). This is
-- what A-11 v1 driver distributions (counts of 1..5 per driver question), A-11 v2 indicators (chosen among those who
-- were offered them: offered = the version's responses with that trust answer, in `response_days`) and choice
-- questions' distributions are computed from. Free text, contact details and hidden values are never counted.
CREATE TABLE answer_days (
    org_id UUID NOT NULL,
    survey_id UUID NOT NULL,
    day BIGINT NOT NULL,
    survey_version INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    value TEXT NOT NULL,
    trust_positive SMALLINT NOT NULL,
    answers BIGINT NOT NULL,
    PRIMARY KEY (org_id, survey_id, day, survey_version, question_id, value, trust_positive)
) WITH (fillfactor = 70);

-- Organizations whose rollups are to be recomputed (after this migration, for those that already had responses;
-- after a change of time zone), since when (UTC milliseconds) and why. `heard serve` enqueues a `rollups.rebuild`
-- job for each; the job (or `heard rollups rebuild`) removes the row in the transaction that rewrites the rollups.
CREATE TABLE rollups_pending (
    org_id UUID PRIMARY KEY,
    since BIGINT NOT NULL,
    reason TEXT NOT NULL
);
INSERT INTO rollups_pending (org_id, since, reason)
SELECT o.id, 0, 'migration' FROM organizations o WHERE EXISTS (SELECT 1 FROM responses r WHERE r.org_id = o.id);
