-- Submission addresses per account (issue 6): the user report address and the
-- team address per disposition that the SMTP listener takes instead of
-- relaying. A role without a row uses its default (report@HOST, team-spam@HOST,
-- ... where HOST is serve --hostname). An address routes to exactly one
-- account, hence UNIQUE across accounts. The single row of
-- report_addresses_version changes with every write so that routing caches on
-- every node know when to reload.
CREATE TABLE report_addresses (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  role TEXT NOT NULL,          -- report, team_malicious, team_suspicious, team_spoof, team_spam, team_bulk, team_clean
  address TEXT NOT NULL COLLATE NOCASE UNIQUE,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, role)
);

CREATE TABLE report_addresses_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
