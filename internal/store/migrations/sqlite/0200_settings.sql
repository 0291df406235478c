-- Account settings in the shapes of Cloudflare Email Security's settings API
-- (allow_policies, block_senders, trusted_domains, impersonation_registry,
-- domains). Column names are the API's JSON names. Times are Unix milliseconds;
-- expires_at NULL means the entry never expires. An expired entry stays listed
-- but no longer applies, and a new entry with the same pattern replaces it.

CREATE TABLE settings_allow_policies (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  pattern TEXT NOT NULL COLLATE NOCASE,
  pattern_type TEXT NOT NULL, -- EMAIL, DOMAIN, IP, UNKNOWN
  is_regex INTEGER NOT NULL DEFAULT 0,
  is_acceptable_sender INTEGER NOT NULL DEFAULT 0,
  is_trusted_sender INTEGER NOT NULL DEFAULT 0,
  is_exempt_recipient INTEGER NOT NULL DEFAULT 0,
  verify_sender INTEGER NOT NULL DEFAULT 0,
  is_recipient INTEGER NOT NULL DEFAULT 0,
  is_sender INTEGER NOT NULL DEFAULT 0,
  is_spoof INTEGER NOT NULL DEFAULT 0,
  comments TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, pattern_type, pattern)
);

CREATE TABLE settings_block_senders (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  pattern TEXT NOT NULL COLLATE NOCASE,
  pattern_type TEXT NOT NULL,
  is_regex INTEGER NOT NULL DEFAULT 0,
  comments TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, pattern_type, pattern)
);

CREATE TABLE settings_trusted_domains (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  pattern TEXT NOT NULL COLLATE NOCASE,
  is_regex INTEGER NOT NULL DEFAULT 0,
  is_recent INTEGER NOT NULL DEFAULT 0,
  is_similarity INTEGER NOT NULL DEFAULT 0,
  comments TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, pattern)
);

CREATE TABLE settings_impersonation_registry (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL COLLATE NOCASE,
  is_email_regex INTEGER NOT NULL DEFAULT 0,
  directory_id INTEGER, -- NULL: not from a directory
  provenance TEXT NOT NULL DEFAULT '',
  comments TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, email)
);

-- Protected domains. drop_dispositions (JSON array) are the dispositions held
-- in quarantine for mail to the domain; they override accounts.hold_dispositions.
CREATE TABLE settings_domains (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  domain TEXT NOT NULL COLLATE NOCASE,
  drop_dispositions TEXT NOT NULL DEFAULT '[]',
  folder TEXT NOT NULL DEFAULT '', -- AllItems, Inbox; '' for none
  lookback_hops INTEGER NOT NULL DEFAULT 1,
  require_tls_inbound INTEGER NOT NULL DEFAULT 0,
  require_tls_outbound INTEGER NOT NULL DEFAULT 0,
  allowed_delivery_modes TEXT NOT NULL DEFAULT '[]',
  ip_restrictions TEXT NOT NULL DEFAULT '[]',
  regions TEXT NOT NULL DEFAULT '[]',
  transport TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active',
  comments TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  last_modified INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, domain)
);

-- Bumped by every settings write of an account, so policy caches know when to reload.
CREATE TABLE settings_versions (
  account_id INTEGER PRIMARY KEY,
  version INTEGER NOT NULL
);
