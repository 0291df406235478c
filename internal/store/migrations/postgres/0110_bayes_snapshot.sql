-- A compact copy of each account's content model (internal/bayes snapshot.go),
-- as in sqlite/0110_bayes_snapshot.sql: a node loads the model in one read. A
-- snapshot is current while its generation equals the account's generation in
-- bayes_messages, which every training transaction increments.
ALTER TABLE bayes_messages ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
UPDATE bayes_messages SET generation = 1; -- models trained before have no snapshot yet

CREATE TABLE bayes_snapshots (
  account_id BIGINT PRIMARY KEY,
  generation BIGINT NOT NULL,
  data BYTEA NOT NULL
);
