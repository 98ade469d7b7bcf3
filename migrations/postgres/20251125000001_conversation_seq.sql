-- The planner's event stream numbers events per conversation thread
-- (1, 2, ...); the last number used is kept so the next turn continues it.
ALTER TABLE conversations ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
