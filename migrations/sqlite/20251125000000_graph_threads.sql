-- Graph checkpoints are scoped by organization: the same thread id in two
-- organizations names two threads. SQLite cannot change a primary key in
-- place, so the table is rebuilt (rows kept).
CREATE TABLE graph_checkpoints_new (
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    thread_id       TEXT NOT NULL,
    step            INTEGER NOT NULL,
    parent_step     INTEGER,
    node            TEXT NOT NULL,
    delta           TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, thread_id, step)
);
INSERT INTO graph_checkpoints_new (organization_id, thread_id, step, parent_step, node, delta, created_at)
    SELECT organization_id, thread_id, step, parent_step, node, delta, created_at FROM graph_checkpoints;
DROP TABLE graph_checkpoints;
ALTER TABLE graph_checkpoints_new RENAME TO graph_checkpoints;
CREATE INDEX graph_checkpoints_org_created_idx ON graph_checkpoints (organization_id, created_at);
