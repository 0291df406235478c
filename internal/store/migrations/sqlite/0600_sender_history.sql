-- Sender history (detection: first-time and established senders): the
-- account's messages from one address, newest first, matched without case.
CREATE INDEX messages_account_sender ON messages(account_id, lower(from_addr), seq);
