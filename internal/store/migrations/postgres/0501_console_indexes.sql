-- Indexes for the console's reads of submissions, as sqlite/0501_console_indexes.sql:
-- the Overview's counts, the Reclassifications tabs (type, newest first), and a
-- message's own submissions (store.Console.MessageSubmissions).
CREATE INDEX submissions_account_type ON submissions(account_id, type, seq);
CREATE INDEX submissions_account_type_status ON submissions(account_id, type, status);
CREATE INDEX submissions_account_type_customer ON submissions(account_id, type, customer_status);
CREATE INDEX submissions_account_message ON submissions(account_id, message_id, seq);
