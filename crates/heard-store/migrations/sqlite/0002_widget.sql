-- Settings of the embeddable widget: the share of page views offered the survey (0-100, decided in the browser with
-- no identifier) and whether the page's query string may be kept with a response (off by default, because query
-- strings often carry personal data).
ALTER TABLE surveys ADD COLUMN widget_sample_percent INTEGER NOT NULL DEFAULT 100;
ALTER TABLE surveys ADD COLUMN keep_query BOOLEAN NOT NULL DEFAULT FALSE;
