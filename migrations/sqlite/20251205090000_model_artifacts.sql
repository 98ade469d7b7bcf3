-- Trained weights of a model registry entry (safetensors bytes, or another
-- format named in `format`), one artifact per registry row. Only the
-- organization's latest artifact of each model is kept (older ones are
-- deleted when a newer one is saved); the registry rows and their metrics
-- stay.
CREATE TABLE model_artifacts (
    model_id        BLOB PRIMARY KEY NOT NULL REFERENCES model_registry(id) ON DELETE CASCADE,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    format          TEXT NOT NULL,
    bytes           BLOB NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX model_artifacts_org_idx ON model_artifacts (organization_id);
