-- Content model counts per account (internal/bayes), shared by every node. No
-- foreign key to accounts, as in sqlite/0100_bayes.sql.

-- Trained messages per class.
CREATE TABLE bayes_messages (
  account_id BIGINT PRIMARY KEY,
  ham BIGINT NOT NULL DEFAULT 0,
  spam BIGINT NOT NULL DEFAULT 0,
  phish BIGINT NOT NULL DEFAULT 0
);

-- Per token, how many trained messages of each class contain it.
CREATE TABLE bayes_tokens (
  account_id BIGINT NOT NULL,
  token TEXT NOT NULL,
  ham BIGINT NOT NULL DEFAULT 0,
  spam BIGINT NOT NULL DEFAULT 0,
  phish BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, token)
);

-- What each message (by SHA-256 of its raw bytes) is trained as: makes training idempotent.
CREATE TABLE bayes_trained (
  account_id BIGINT NOT NULL,
  msg_key TEXT NOT NULL,
  class TEXT NOT NULL CHECK (class IN ('ham', 'spam', 'phish')),
  trained_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, msg_key)
);
