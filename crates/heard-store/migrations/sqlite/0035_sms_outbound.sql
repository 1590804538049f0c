-- Outbound SMS from the durable job queue (issue 20, items 2 and 7).

-- Pacing per sending number: at most `messages_per_second` sends (Twilio's long codes take 1 a second), and the
-- earliest moment the next send may start (milliseconds since the Unix epoch), kept here so every worker and a
-- restarted server respect it. A send takes the slot with a conditional UPDATE; a job that finds the slot in the
-- future is put back in the queue for that moment.
ALTER TABLE sms_senders ADD COLUMN messages_per_second INTEGER NOT NULL DEFAULT 1
    CHECK (messages_per_second BETWEEN 1 AND 100);
ALTER TABLE sms_senders ADD COLUMN next_send_at INTEGER NOT NULL DEFAULT 0;

-- How a conversation ended: `completed` (the last question answered) or `stale` (no reply for 24 hours; its answers
-- so far went through the pipeline as the response). NULL while it runs. `outreach_id` is the invitation queue's
-- item that started it, when one did.
ALTER TABLE sms_conversations ADD COLUMN ended TEXT CHECK (ended IN ('completed', 'stale'));
ALTER TABLE sms_conversations ADD COLUMN outreach_id BLOB;
