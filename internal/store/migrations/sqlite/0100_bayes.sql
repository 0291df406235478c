-- Content model counts per account (internal/bayes). No foreign key to accounts:
-- the model is kept apart from the rest of the schema and dropped with the account
-- by the account's own cleanup.

-- Trained messages per class.
CREATE TABLE bayes_messages (
  account_id INTEGER PRIMARY KEY,
  ham INTEGER NOT NULL DEFAULT 0,
  spam INTEGER NOT NULL DEFAULT 0,
  phish INTEGER NOT NULL DEFAULT 0
);

-- Per token, how many trained messages of each class contain it.
CREATE TABLE bayes_tokens (
  account_id INTEGER NOT NULL,
  token TEXT NOT NULL,
  ham INTEGER NOT NULL DEFAULT 0,
  spam INTEGER NOT NULL DEFAULT 0,
  phish INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, token)
) WITHOUT ROWID;

-- What each message (by SHA-256 of its raw bytes) is trained as: makes training idempotent.
CREATE TABLE bayes_trained (
  account_id INTEGER NOT NULL,
  msg_key TEXT NOT NULL,
  class TEXT NOT NULL CHECK (class IN ('ham', 'spam', 'phish')),
  trained_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, msg_key)
) WITHOUT ROWID;
