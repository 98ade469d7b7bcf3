-- Dashboard users: an e-mail and a password (Argon2id, PHC string) with a
-- role in one organization. E-mails are unique across organizations so a
-- sign-in finds its organization.
CREATE TABLE users (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    email_lower     TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ
);
CREATE INDEX users_org_idx ON users (organization_id, created_at);
