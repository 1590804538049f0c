-- Full-text search of comments and the themes explorer (issue 18, item 7).
--
-- `comments` holds one row per response with free text (its free-text answers as stored, redacted, joined by line
-- feeds: the answers whose question the text engine read, i.e. the keys of `enrichment`) and per signal with text
-- (its redacted text; for a call transcript, the customer's turns). Triggers on `responses` and `signals` keep it, so
-- every write path (the group-commit writer, the ingestion API, imports) is covered in the writer's own transaction.
CREATE TABLE comments (
    org_id UUID NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal')),
    item_id UUID NOT NULL,
    service_id UUID,
    -- When the response was submitted or the signal happened, UTC milliseconds.
    at_ms BIGINT NOT NULL,
    language TEXT NOT NULL,
    sentiment TEXT,
    -- Theme ids as ",id,id," (as on responses and signals).
    themes TEXT,
    body TEXT NOT NULL,
    -- The search vector in the item's language: Spanish stemming for Spanish, English for everything else.
    tsv TSVECTOR GENERATED ALWAYS AS (
        to_tsvector(CASE WHEN language LIKE 'es%' THEN 'spanish'::regconfig ELSE 'english'::regconfig END, body)
    ) STORED,
    PRIMARY KEY (org_id, kind, item_id)
);
CREATE INDEX comments_by_time ON comments(org_id, at_ms, kind, item_id);
CREATE INDEX comments_search ON comments USING GIN (tsv);

-- Rollups the themes explorer reads (pages left 30% free so the constant updates stay on their page, as HOT updates
-- that need no index change and are pruned without VACUUM), kept by the same triggers in the same transaction: comments and theme
-- mentions per UTC hour, kind and service (the all-zero id for none), with how many were negative. An hour is the
-- grain because every local week of a zone with a whole-hour offset starts on a UTC hour.
CREATE TABLE comment_hours (
    org_id UUID NOT NULL,
    hour BIGINT NOT NULL,
    kind TEXT NOT NULL,
    service_id UUID NOT NULL,
    items BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour, kind, service_id)
) WITH (fillfactor = 70);
-- The same per UTC day: a local week is read as its whole UTC days from these and its few edge hours from the
-- hourly tables, so a year of weeks reads about a sixth of the rows.
CREATE TABLE comment_days (
    org_id UUID NOT NULL,
    day BIGINT NOT NULL,
    kind TEXT NOT NULL,
    service_id UUID NOT NULL,
    items BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, kind, service_id)
) WITH (fillfactor = 70);
CREATE TABLE theme_days (
    org_id UUID NOT NULL,
    day BIGINT NOT NULL,
    kind TEXT NOT NULL,
    service_id UUID NOT NULL,
    theme TEXT NOT NULL,
    items BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, kind, service_id, theme)
) WITH (fillfactor = 70);
CREATE TABLE theme_hours (
    org_id UUID NOT NULL,
    hour BIGINT NOT NULL,
    kind TEXT NOT NULL,
    service_id UUID NOT NULL,
    theme TEXT NOT NULL,
    items BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour, kind, service_id, theme)
) WITH (fillfactor = 70);

CREATE FUNCTION comments_rollup(c comments, sign BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    neg BIGINT := CASE WHEN c.sentiment = 'negative' THEN sign ELSE 0 END;
    svc UUID := COALESCE(c.service_id, '00000000-0000-0000-0000-000000000000'::uuid);
BEGIN
    INSERT INTO comment_hours (org_id, hour, kind, service_id, items, negative)
    VALUES (c.org_id, c.at_ms / 3600000, c.kind, svc, sign, neg)
    ON CONFLICT (org_id, hour, kind, service_id)
    DO UPDATE SET items = comment_hours.items + sign, negative = comment_hours.negative + neg;
    INSERT INTO theme_hours (org_id, hour, kind, service_id, theme, items, negative)
    SELECT c.org_id, c.at_ms / 3600000, c.kind, svc, t, sign, neg
    FROM unnest(string_to_array(trim(BOTH ',' FROM c.themes), ',')) AS t
    WHERE c.themes IS NOT NULL AND t <> ''
    ORDER BY t
    ON CONFLICT (org_id, hour, kind, service_id, theme)
    DO UPDATE SET items = theme_hours.items + sign, negative = theme_hours.negative + neg;
    INSERT INTO comment_days (org_id, day, kind, service_id, items, negative)
    VALUES (c.org_id, c.at_ms / 86400000, c.kind, svc, sign, neg)
    ON CONFLICT (org_id, day, kind, service_id)
    DO UPDATE SET items = comment_days.items + sign, negative = comment_days.negative + neg;
    INSERT INTO theme_days (org_id, day, kind, service_id, theme, items, negative)
    SELECT c.org_id, c.at_ms / 86400000, c.kind, svc, t, sign, neg
    FROM unnest(string_to_array(trim(BOTH ',' FROM c.themes), ',')) AS t
    WHERE c.themes IS NOT NULL AND t <> ''
    ORDER BY t
    ON CONFLICT (org_id, day, kind, service_id, theme)
    DO UPDATE SET items = theme_days.items + sign, negative = theme_days.negative + neg;
END $$;

-- Concurrent writers of one organization would otherwise lock the same rollup rows in different orders and could
-- deadlock; they take the organization's rollup lock first (held to commit), so they queue instead. The
-- group-commit writer is one transaction at a time anyway; ingestion batches of one organization wait in turn.
CREATE FUNCTION comments_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(20, hashtext(COALESCE(NEW.org_id, OLD.org_id)::text));
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM comments_rollup(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM comments_rollup(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER comments_changed AFTER INSERT OR UPDATE OR DELETE ON comments
FOR EACH ROW EXECUTE FUNCTION comments_changed();

-- The free-text answers of a response, as stored: the answers whose question the text engine read.
CREATE FUNCTION response_comment_body(answers TEXT, enrichment TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(a.value #>> '{}', E'\n')
    FROM jsonb_each(answers::jsonb) a
    WHERE jsonb_typeof(a.value) = 'string' AND a.value #>> '{}' <> ''
      AND jsonb_exists(enrichment::jsonb, a.key)
$$;

CREATE FUNCTION responses_comment() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    b TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM comments WHERE org_id = OLD.org_id AND kind = 'response' AND item_id = OLD.id;
        RETURN NULL;
    END IF;
    IF NEW.enrichment IS NOT NULL THEN
        b := response_comment_body(NEW.answers, NEW.enrichment);
        IF b IS NOT NULL THEN
            INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
            VALUES (NEW.org_id, 'response', NEW.id, NEW.service_id, NEW.submitted_at, NEW.language, NEW.sentiment,
                    NEW.themes, b);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER responses_comment AFTER INSERT OR DELETE ON responses
FOR EACH ROW EXECUTE FUNCTION responses_comment();

-- A signal's service and time change when a call transcript is linked to its call (amazon_connect.rs): the comment
-- moves with it.
CREATE FUNCTION signals_comment() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM comments WHERE org_id = OLD.org_id AND kind = 'signal' AND item_id = OLD.id;
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.text <> '' THEN
            INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
            VALUES (NEW.org_id, 'signal', NEW.id, NEW.service_id, NEW.occurred_at, NEW.language, NEW.sentiment,
                    NEW.themes, NEW.text);
        END IF;
    ELSIF NEW.service_id IS DISTINCT FROM OLD.service_id OR NEW.occurred_at IS DISTINCT FROM OLD.occurred_at THEN
        UPDATE comments SET service_id = NEW.service_id, at_ms = NEW.occurred_at
        WHERE org_id = NEW.org_id AND kind = 'signal' AND item_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER signals_comment AFTER INSERT OR UPDATE OF service_id, occurred_at OR DELETE ON signals
FOR EACH ROW EXECUTE FUNCTION signals_comment();

-- What was stored before this migration.
INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
SELECT org_id, 'response', id, service_id, submitted_at, language, sentiment, themes, body FROM (
    SELECT r.*, response_comment_body(r.answers, r.enrichment) AS body FROM responses r WHERE r.enrichment IS NOT NULL
) x WHERE body IS NOT NULL;
INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
SELECT org_id, 'signal', id, service_id, occurred_at, language, sentiment, themes, text FROM signals WHERE text <> '';
