-- Trained weights of a model registry entry (safetensors bytes, or another
-- format named in `format`), one artifact per registry row. Only the
-- organization's latest artifact of each model is kept (older ones are
-- deleted when a newer one is saved); the registry rows and their metrics
-- stay.
CREATE TABLE model_artifacts (
    model_id        UUID PRIMARY KEY REFERENCES model_registry(id) ON DELETE CASCADE,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    format          TEXT NOT NULL,
    bytes           BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX model_artifacts_org_idx ON model_artifacts (organization_id);
