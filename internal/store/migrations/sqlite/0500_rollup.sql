-- Per-day rollup of messages for the console's Overview (issue 7), so its
-- charts and top lists read O(days × keys) rows, not every message. The store
-- keeps it in the transactions that insert a message (InsertMessage) or change
-- its disposition (SetDisposition), with the keys store.Rollup gives: day is
-- the UTC day number (scanned_at / 86400000); triggers and recipients count
-- detections only (disposition <> 'NONE'), each message once per scoring
-- trigger name and once per (ASCII-lowercased) envelope recipient. A count may
-- reach 0 and stay as a row; readers leave such rows out.
CREATE TABLE rollup_dispositions (
  account_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  disposition TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (account_id, day, disposition)
) WITHOUT ROWID;

CREATE TABLE rollup_triggers (
  account_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  name TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (account_id, day, name)
) WITHOUT ROWID;

CREATE TABLE rollup_recipients (
  account_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (account_id, day, recipient)
) WITHOUT ROWID;

-- Backfill from the messages already stored (an upgraded database).
INSERT INTO rollup_dispositions(account_id, day, disposition, n)
  SELECT account_id, scanned_at / 86400000, disposition, count(*) FROM messages GROUP BY 1, 2, 3;

INSERT INTO rollup_triggers(account_id, day, name, n)
  SELECT account_id, day, name, count(*) FROM (
    SELECT DISTINCT m.seq, m.account_id, m.scanned_at / 86400000 AS day, json_extract(t.value, '$.name') AS name
    FROM messages m, json_each(CASE WHEN json_valid(m.triggers) THEN CASE WHEN json_type(m.triggers) = 'array' THEN m.triggers ELSE '[]' END ELSE '[]' END) t
    WHERE m.disposition <> 'NONE' AND t.type = 'object'
      AND json_type(t.value, '$.score') IN ('integer', 'real') AND json_extract(t.value, '$.score') > 0
      AND json_type(t.value, '$.name') = 'text' AND json_extract(t.value, '$.name') <> ''
  ) GROUP BY 1, 2, 3;

INSERT INTO rollup_recipients(account_id, day, recipient, n)
  SELECT account_id, day, rcpt, count(*) FROM (
    SELECT DISTINCT m.seq, m.account_id, m.scanned_at / 86400000 AS day, lower(r.value) AS rcpt
    FROM messages m, json_each(CASE WHEN json_valid(m.envelope_to) THEN CASE WHEN json_type(m.envelope_to) = 'array' THEN m.envelope_to ELSE '[]' END ELSE '[]' END) r
    WHERE m.disposition <> 'NONE' AND r.type = 'text' AND r.value <> ''
  ) GROUP BY 1, 2, 3;

-- When a token was last used (Authenticate writes it at most once a minute).
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
CREATE INDEX api_tokens_account ON api_tokens(account_id, id);
