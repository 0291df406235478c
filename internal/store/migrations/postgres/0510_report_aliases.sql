-- Submission addresses per account, as sqlite/0510_report_aliases.sql. An
-- address routes to exactly one account: unique across accounts, compared
-- case-insensitively (the store writes them lower-case). The single row of
-- report_addresses_version changes with every write so that routing caches on
-- every node know when to reload.
CREATE TABLE report_addresses (
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  role TEXT NOT NULL,          -- report, team_malicious, team_suspicious, team_spoof, team_spam, team_bulk, team_clean
  address TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, role)
);
CREATE UNIQUE INDEX report_addresses_address ON report_addresses(lower(address));

CREATE TABLE report_addresses_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
