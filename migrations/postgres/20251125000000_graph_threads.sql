-- Graph checkpoints are scoped by organization: the same thread id in two
-- organizations names two threads.
ALTER TABLE graph_checkpoints DROP CONSTRAINT graph_checkpoints_pkey;
ALTER TABLE graph_checkpoints ADD PRIMARY KEY (organization_id, thread_id, step);
DROP INDEX graph_checkpoints_org_thread_idx;
