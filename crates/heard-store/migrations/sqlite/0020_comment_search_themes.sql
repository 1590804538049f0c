-- Full-text search of comments and the themes explorer (issue 18, item 7).
--
-- `comments` holds one row per response with free text (its free-text answers as stored, redacted, joined by line
-- feeds: the answers whose question the text engine read, i.e. the keys of `enrichment`) and per signal with text
-- (its redacted text; for a call transcript, the customer's turns). Triggers on `responses` and `signals` keep it, so
-- every write path (the group-commit writer, the ingestion API, imports) is covered in the writer's own transaction.
-- Its integer `id` exists for FTS5 (an external-content table needs an integer rowid); tenancy is the UNIQUE key,
-- led by org_id, and every read filters by org_id.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    org_id BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('response', 'signal')),
    item_id BLOB NOT NULL,
    service_id BLOB,
    -- When the response was submitted or the signal happened, UTC milliseconds.
    at_ms INTEGER NOT NULL,
    language TEXT NOT NULL,
    sentiment TEXT,
    -- Theme ids as ",id,id," (as on responses and signals).
    themes TEXT,
    body TEXT NOT NULL,
    UNIQUE (org_id, kind, item_id)
);
CREATE INDEX comments_by_time ON comments(org_id, at_ms, kind, item_id);

-- The search index. English stemming (Porter) over Unicode words with diacritics folded ("informacion" finds
-- "información"); Spanish words are matched as written, without stemming (PostgreSQL stems both languages).
CREATE VIRTUAL TABLE comments_fts USING fts5(
    body,
    content = 'comments',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Rollups the themes explorer reads, kept by the same triggers in the same transaction: comments and theme
-- mentions per UTC hour, kind and service (the all-zero id for none), with how many were negative. An hour is the
-- grain because every local week of a zone with a whole-hour offset starts on a UTC hour.
CREATE TABLE comment_hours (
    org_id BLOB NOT NULL,
    hour INTEGER NOT NULL,
    kind TEXT NOT NULL,
    service_id BLOB NOT NULL,
    items INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (org_id, hour, kind, service_id)
) WITHOUT ROWID;
-- The same per UTC day: a local week is read as its whole UTC days from these and its few edge hours from the
-- hourly tables, so a year of weeks reads about a sixth of the rows.
CREATE TABLE comment_days (
    org_id BLOB NOT NULL,
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    service_id BLOB NOT NULL,
    items INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (org_id, day, kind, service_id)
) WITHOUT ROWID;
CREATE TABLE theme_days (
    org_id BLOB NOT NULL,
    day INTEGER NOT NULL,
    kind TEXT NOT NULL,
    service_id BLOB NOT NULL,
    theme TEXT NOT NULL,
    items INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (org_id, day, kind, service_id, theme)
) WITHOUT ROWID;
CREATE TABLE theme_hours (
    org_id BLOB NOT NULL,
    hour INTEGER NOT NULL,
    kind TEXT NOT NULL,
    service_id BLOB NOT NULL,
    theme TEXT NOT NULL,
    items INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (org_id, hour, kind, service_id, theme)
) WITHOUT ROWID;

CREATE TRIGGER comments_after_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
    INSERT INTO comment_hours (org_id, hour, kind, service_id, items, negative)
    VALUES (new.org_id, new.at_ms / 3600000, new.kind, COALESCE(new.service_id, zeroblob(16)), 1,
            CASE WHEN new.sentiment = 'negative' THEN 1 ELSE 0 END)
    ON CONFLICT (org_id, hour, kind, service_id) DO UPDATE SET items = items + 1, negative = negative + excluded.negative;
    INSERT INTO theme_hours (org_id, hour, kind, service_id, theme, items, negative)
    SELECT new.org_id, new.at_ms / 3600000, new.kind, COALESCE(new.service_id, zeroblob(16)), t.value, 1,
           CASE WHEN new.sentiment = 'negative' THEN 1 ELSE 0 END
    FROM json_each('["' || replace(trim(new.themes, ','), ',', '","') || '"]') t
    WHERE new.themes IS NOT NULL AND trim(new.themes, ',') <> ''
    ON CONFLICT (org_id, hour, kind, service_id, theme) DO UPDATE SET items = items + 1, negative = negative + excluded.negative;
    INSERT INTO comment_days (org_id, day, kind, service_id, items, negative)
    VALUES (new.org_id, new.at_ms / 86400000, new.kind, COALESCE(new.service_id, zeroblob(16)), 1,
            CASE WHEN new.sentiment = 'negative' THEN 1 ELSE 0 END)
    ON CONFLICT (org_id, day, kind, service_id) DO UPDATE SET items = items + 1, negative = negative + excluded.negative;
    INSERT INTO theme_days (org_id, day, kind, service_id, theme, items, negative)
    SELECT new.org_id, new.at_ms / 86400000, new.kind, COALESCE(new.service_id, zeroblob(16)), t.value, 1,
           CASE WHEN new.sentiment = 'negative' THEN 1 ELSE 0 END
    FROM json_each('["' || replace(trim(new.themes, ','), ',', '","') || '"]') t
    WHERE new.themes IS NOT NULL AND trim(new.themes, ',') <> ''
    ON CONFLICT (org_id, day, kind, service_id, theme) DO UPDATE SET items = items + 1, negative = negative + excluded.negative;
END;

CREATE TRIGGER comments_after_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
    UPDATE comment_hours SET items = items - 1, negative = negative - CASE WHEN old.sentiment = 'negative' THEN 1 ELSE 0 END
    WHERE org_id = old.org_id AND hour = old.at_ms / 3600000 AND kind = old.kind
      AND service_id = COALESCE(old.service_id, zeroblob(16));
    UPDATE theme_hours SET items = items - 1, negative = negative - CASE WHEN old.sentiment = 'negative' THEN 1 ELSE 0 END
    WHERE org_id = old.org_id AND hour = old.at_ms / 3600000 AND kind = old.kind
      AND service_id = COALESCE(old.service_id, zeroblob(16))
      AND old.themes IS NOT NULL AND trim(old.themes, ',') <> ''
      AND theme IN (SELECT value FROM json_each('["' || replace(trim(old.themes, ','), ',', '","') || '"]'));
    UPDATE comment_days SET items = items - 1, negative = negative - CASE WHEN old.sentiment = 'negative' THEN 1 ELSE 0 END
    WHERE org_id = old.org_id AND day = old.at_ms / 86400000 AND kind = old.kind
      AND service_id = COALESCE(old.service_id, zeroblob(16));
    UPDATE theme_days SET items = items - 1, negative = negative - CASE WHEN old.sentiment = 'negative' THEN 1 ELSE 0 END
    WHERE org_id = old.org_id AND day = old.at_ms / 86400000 AND kind = old.kind
      AND service_id = COALESCE(old.service_id, zeroblob(16))
      AND old.themes IS NOT NULL AND trim(old.themes, ',') <> ''
      AND theme IN (SELECT value FROM json_each('["' || replace(trim(old.themes, ','), ',', '","') || '"]'));
END;

-- A signal's service and time change when a call transcript is linked to its call (amazon_connect.rs): the comment
-- moves with it, through a delete and an insert so the index and rollups follow.
CREATE TRIGGER signals_comment_update AFTER UPDATE OF service_id, occurred_at ON signals
WHEN new.service_id IS NOT old.service_id OR new.occurred_at IS NOT old.occurred_at BEGIN
    DELETE FROM comments WHERE org_id = old.org_id AND kind = 'signal' AND item_id = old.id;
    INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
    SELECT new.org_id, 'signal', new.id, new.service_id, new.occurred_at, new.language, new.sentiment, new.themes, new.text
    WHERE new.text <> '';
END;

CREATE TRIGGER responses_comment_insert AFTER INSERT ON responses WHEN new.enrichment IS NOT NULL BEGIN
    INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
    SELECT new.org_id, 'response', new.id, new.service_id, new.submitted_at, new.language, new.sentiment, new.themes, b.body
    FROM (SELECT group_concat(a.value, char(10)) AS body FROM json_each(new.answers) a
          WHERE a.type = 'text' AND a.value <> '' AND a.key IN (SELECT e.key FROM json_each(new.enrichment) e)) b
    WHERE b.body IS NOT NULL;
END;
CREATE TRIGGER responses_comment_delete AFTER DELETE ON responses BEGIN
    DELETE FROM comments WHERE org_id = old.org_id AND kind = 'response' AND item_id = old.id;
END;
CREATE TRIGGER signals_comment_insert AFTER INSERT ON signals WHEN new.text <> '' BEGIN
    INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
    VALUES (new.org_id, 'signal', new.id, new.service_id, new.occurred_at, new.language, new.sentiment, new.themes, new.text);
END;
CREATE TRIGGER signals_comment_delete AFTER DELETE ON signals BEGIN
    DELETE FROM comments WHERE org_id = old.org_id AND kind = 'signal' AND item_id = old.id;
END;

-- What was stored before this migration.
INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
SELECT org_id, 'response', id, service_id, submitted_at, language, sentiment, themes, body FROM (
    SELECT r.*, (SELECT group_concat(a.value, char(10)) FROM json_each(r.answers) a
                 WHERE a.type = 'text' AND a.value <> '' AND a.key IN (SELECT e.key FROM json_each(r.enrichment) e)) AS body
    FROM responses r WHERE r.enrichment IS NOT NULL
) WHERE body IS NOT NULL;
INSERT INTO comments (org_id, kind, item_id, service_id, at_ms, language, sentiment, themes, body)
SELECT org_id, 'signal', id, service_id, occurred_at, language, sentiment, themes, text FROM signals WHERE text <> '';
