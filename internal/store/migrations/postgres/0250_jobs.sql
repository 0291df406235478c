-- Bulk jobs, as sqlite/0250_jobs.sql. Nodes claim a job with FOR UPDATE SKIP LOCKED.
CREATE TABLE bulk_jobs (
  id TEXT PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  search_params TEXT NOT NULL DEFAULT '{}',
  expected_disposition TEXT NOT NULL DEFAULT '',
  destination TEXT NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL DEFAULT '',
  discovered INTEGER NOT NULL DEFAULT 0,
  successful INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  discover_cursor BIGINT NOT NULL DEFAULT 0,
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL DEFAULT 0,
  completed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bulk_jobs_account ON bulk_jobs(account_id, created_at);
CREATE INDEX bulk_jobs_open ON bulk_jobs(status, lease_until);

CREATE TABLE bulk_job_messages (
  job_id TEXT NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
  message_seq BIGINT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  error TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, message_seq)
);
CREATE INDEX bulk_job_messages_pending ON bulk_job_messages(job_id, status, message_seq);
