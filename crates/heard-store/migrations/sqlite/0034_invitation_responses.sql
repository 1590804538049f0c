-- The hosted page opened from an email invitation (issue 20, items 4 and 5). `response_id` is the response that
-- answered the invitation, written in the response's own commit (heard_store::writer), so the invitation and its
-- answer can never disagree; `started_at` is when the page's form was first sent back, whether it was stored or came
-- back with something to correct (what the outreach figures call "started"). Times are ms since the epoch.
ALTER TABLE email_invitations ADD COLUMN response_id BLOB;
ALTER TABLE email_invitations ADD COLUMN started_at INTEGER;
-- The outreach figures read a survey's invitations of a quarter by when they were written.
CREATE INDEX email_invitations_by_created ON email_invitations(org_id, survey_id, created_at);
-- And a survey's SMS conversations the same way.
CREATE INDEX sms_conversations_by_survey ON sms_conversations(org_id, survey_id, created_at);
CREATE INDEX sms_messages_by_conversation ON sms_messages(org_id, conversation_id);
-- The unsubscribe link names an invitation by its id alone.
CREATE INDEX email_invitations_by_id ON email_invitations(id);
