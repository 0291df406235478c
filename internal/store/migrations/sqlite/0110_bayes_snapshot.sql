-- A compact copy of each account's content model (internal/bayes snapshot.go),
-- so a process loads the model in one read instead of one row per token. A
-- snapshot is current while its generation equals the account's generation in
-- bayes_messages, which every training transaction increments.
ALTER TABLE bayes_messages ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
UPDATE bayes_messages SET generation = 1; -- models trained before have no snapshot yet

CREATE TABLE bayes_snapshots (
  account_id INTEGER PRIMARY KEY,
  generation INTEGER NOT NULL,
  data BLOB NOT NULL
);
