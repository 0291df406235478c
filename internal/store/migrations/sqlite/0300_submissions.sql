-- Reclassification submissions (DESIGN.md, "Reclassification and submissions"):
-- the API-visible record and the durable work queue in one row. A worker claims a
-- row by taking its lease (lease_owner, lease_until); a crashed worker's lease runs
-- out and another takes the row again (at-least-once; every step is idempotent).
CREATE TABLE submissions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  type TEXT NOT NULL,            -- TEAM, USER, INVALID
  channel TEXT NOT NULL,         -- api, upload, mail
  status TEXT NOT NULL,          -- pending, completed, failed (API-visible)
  state TEXT NOT NULL,           -- queue state: queued, notify, done
  message_seq INTEGER,           -- the message reclassified (NULL for invalid submissions)
  message_id TEXT NOT NULL DEFAULT '',   -- its postfix_id
  raw_key TEXT NOT NULL DEFAULT '',      -- SHA-256 of its raw bytes: one submission per message
  subject TEXT NOT NULL DEFAULT '',
  edf_hash TEXT NOT NULL DEFAULT '',     -- its campaign
  original_disposition TEXT NOT NULL DEFAULT '',
  requested_disposition TEXT NOT NULL DEFAULT '',
  outcome_disposition TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT '',
  outcome_code TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL DEFAULT '',
  notify_addr TEXT NOT NULL DEFAULT '',
  notify_state TEXT NOT NULL DEFAULT '', -- '', sent, failed
  customer_status TEXT NOT NULL DEFAULT '',
  escalated_as TEXT NOT NULL DEFAULT '',
  escalated_at INTEGER,
  escalated_by TEXT NOT NULL DEFAULT '',
  escalated_submission_id TEXT NOT NULL DEFAULT '',
  escalated_from TEXT NOT NULL DEFAULT '',
  policy TEXT NOT NULL DEFAULT '',       -- JSON of the requested allow/block entry
  policy_entry TEXT NOT NULL DEFAULT '', -- kind/id of the entry created
  campaign_changed INTEGER NOT NULL DEFAULT 0,
  requested_at INTEGER NOT NULL,
  completed_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX submissions_account ON submissions(account_id, seq);
CREATE INDEX submissions_account_requested ON submissions(account_id, requested_at);
CREATE INDEX submissions_queue ON submissions(state, next_attempt_at);
CREATE INDEX submissions_dedupe ON submissions(account_id, raw_key, requested_disposition, type);

-- Where the principal behind a token or console user wants outcome mail.
CREATE TABLE submission_contacts (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  principal TEXT NOT NULL,
  role TEXT NOT NULL,
  email TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY (account_id, principal)
);
CREATE INDEX submission_contacts_email ON submission_contacts(account_id, email);
