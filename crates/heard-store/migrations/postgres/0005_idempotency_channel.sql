-- Every keyed write stores, beside its idempotency key, a keyed hash of the normalised request (heard_domain's
-- idempotency module): the same key with the same request is a retry and returns the first response; the same key
-- with a different request is refused (409 idempotency_key_reused) instead of being silently dropped. Rows stored
-- before this have no hash and are taken as the same request, as they were then.
ALTER TABLE responses ADD COLUMN request_hash TEXT;

-- A response's channel is where it arrived, not the channel of the touchpoint it is about. Responses that came
-- through a web page (the hosted page and the widget always record a page path) were stored with their touchpoint's
-- channel when they stated none; they arrived on the web. Displays kept no page path, so their past channels stay.
UPDATE responses SET channel = 'website'
WHERE page_path IS NOT NULL
  AND channel <> 'website'
  AND touchpoint_id IS NOT NULL
  AND channel = (SELECT t.channel FROM touchpoints t WHERE t.org_id = responses.org_id AND t.id = responses.touchpoint_id);
