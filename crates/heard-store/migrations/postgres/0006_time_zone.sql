-- Each organization's IANA time zone: fiscal quarters, weeks, days, date filters, exports and displayed times are
-- local to it. Existing organizations get America/New_York, the default for new ones.
ALTER TABLE organizations ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'America/New_York';
