CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  -- dispositions held in quarantine, comma separated (Cloudflare's drop_dispositions)
  hold_dispositions TEXT NOT NULL DEFAULT 'MALICIOUS,SPOOF,SPAM',
  created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

-- One row per scanned message. seq orders messages and is the paging cursor.
CREATE TABLE messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  message_id TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  from_addr TEXT NOT NULL DEFAULT '',
  from_name TEXT NOT NULL DEFAULT '',
  from_domain TEXT NOT NULL DEFAULT '',
  reply_to TEXT NOT NULL DEFAULT '',
  to_addrs TEXT NOT NULL DEFAULT '[]',
  envelope_from TEXT NOT NULL DEFAULT '',
  envelope_to TEXT NOT NULL DEFAULT '[]',
  client_ip TEXT NOT NULL DEFAULT '',
  helo TEXT NOT NULL DEFAULT '',
  sent_at INTEGER,
  scanned_at INTEGER NOT NULL,
  disposition TEXT NOT NULL,
  triggers TEXT NOT NULL DEFAULT '[]',
  auth TEXT NOT NULL DEFAULT '{}',
  delivery_mode TEXT NOT NULL,
  delivery_status TEXT NOT NULL,
  is_quarantined INTEGER NOT NULL DEFAULT 0,
  structure_hash TEXT NOT NULL DEFAULT '',
  simhash INTEGER NOT NULL DEFAULT 0,
  -- four 16-bit bands of simhash: a near-duplicate shares at least one band
  sim_b0 INTEGER NOT NULL DEFAULT 0,
  sim_b1 INTEGER NOT NULL DEFAULT 0,
  sim_b2 INTEGER NOT NULL DEFAULT 0,
  sim_b3 INTEGER NOT NULL DEFAULT 0,
  campaign_id TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_account_seq ON messages(account_id, seq);
CREATE INDEX messages_account_scanned ON messages(account_id, scanned_at);
CREATE INDEX messages_account_disposition ON messages(account_id, disposition, seq);
CREATE INDEX messages_account_from_domain ON messages(account_id, from_domain, seq);
CREATE INDEX messages_account_message_id ON messages(account_id, message_id);
CREATE INDEX messages_account_campaign ON messages(account_id, campaign_id);
CREATE INDEX messages_structure ON messages(account_id, structure_hash);
CREATE INDEX messages_b0 ON messages(account_id, sim_b0);
CREATE INDEX messages_b1 ON messages(account_id, sim_b1);
CREATE INDEX messages_b2 ON messages(account_id, sim_b2);
CREATE INDEX messages_b3 ON messages(account_id, sim_b3);

-- Raw bytes kept apart so listing never reads them.
CREATE TABLE message_raw (
  seq INTEGER PRIMARY KEY REFERENCES messages(seq),
  raw BLOB NOT NULL
);

-- Full text over sender, recipients, subject, Message-ID and attachment names and hashes.
CREATE VIRTUAL TABLE messages_fts USING fts5(
  sender, recipients, subject, message_id, attachments,
  content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
);

-- Onward delivery, one row per recipient. UNIQUE keeps a release from delivering twice.
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY,
  message_seq INTEGER NOT NULL REFERENCES messages(seq),
  recipient TEXT NOT NULL,
  status TEXT NOT NULL, -- pending, delivered, failed
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL,
  UNIQUE(message_seq, recipient)
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);

CREATE TABLE trace (
  id INTEGER PRIMARY KEY,
  message_seq INTEGER NOT NULL REFERENCES messages(seq),
  direction TEXT NOT NULL, -- inbound, outbound
  logged_at INTEGER NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX trace_message ON trace(message_seq, id);

CREATE TABLE action_log (
  id INTEGER PRIMARY KEY,
  message_seq INTEGER NOT NULL REFERENCES messages(seq),
  operation TEXT NOT NULL, -- MOVE, RELEASE, RECLASSIFY, SUBMISSION, QUARANTINE_RELEASE, PREVIEW
  status TEXT NOT NULL,
  requested_by TEXT NOT NULL DEFAULT '',
  properties TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX action_log_message ON action_log(message_seq, id);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
