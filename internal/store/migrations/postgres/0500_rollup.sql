-- Per-day rollup of messages for the console's Overview, as sqlite/0500_rollup.sql:
-- day is the UTC day number (scanned_at / 86400000); triggers and recipients
-- count detections only, each message once per scoring trigger name and once
-- per (ASCII-lowercased) envelope recipient. A count may reach 0 and stay as a
-- row; readers leave such rows out. There is nothing to backfill: no
-- PostgreSQL store held messages before this migration.
CREATE TABLE rollup_dispositions (
  account_id BIGINT NOT NULL,
  day BIGINT NOT NULL,
  disposition TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (account_id, day, disposition)
);

CREATE TABLE rollup_triggers (
  account_id BIGINT NOT NULL,
  day BIGINT NOT NULL,
  name TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (account_id, day, name)
);

CREATE TABLE rollup_recipients (
  account_id BIGINT NOT NULL,
  day BIGINT NOT NULL,
  recipient TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (account_id, day, recipient)
);

-- When a token was last used (Authenticate writes it at most once a minute).
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX api_tokens_account ON api_tokens(account_id, id);
