-- Indexes for the console's reads of submissions (issue 7), so they cost the
-- rows they return, not the whole table (81,779 submissions made the Overview
-- and message pages take 0.1–0.3 s each at 1M messages):
-- the Overview's "submissions waiting" and "user reports to triage" counts,
-- the Reclassifications tabs (type, newest first), and a message's own
-- submissions on its page and row (store.Console.MessageSubmissions).
CREATE INDEX submissions_account_type ON submissions(account_id, type, seq);
CREATE INDEX submissions_account_type_status ON submissions(account_id, type, status);
CREATE INDEX submissions_account_type_customer ON submissions(account_id, type, customer_status);
CREATE INDEX submissions_account_message ON submissions(account_id, message_id, seq);
