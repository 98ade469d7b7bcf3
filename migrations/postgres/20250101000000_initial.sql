-- AIMA initial schema (PostgreSQL, optionally TimescaleDB).
--
-- Same logical schema as migrations/sqlite. Types: UUID ids, TIMESTAMPTZ
-- times, JSONB documents, DOUBLE PRECISION money. Every table except
-- organizations carries organization_id, and its indexes start with it.
--
-- orders, customer_events and brand_mentions are TimescaleDB hypertable
-- candidates: their primary keys include the time column, because every
-- unique index on a hypertable must contain the partitioning column. For the
-- same reason order uniqueness is (organization_id, external_id, ordered_at)
-- in the database; "one order per (organization_id, external_id)" is enforced
-- by the application (the importer matches existing orders through
-- Store::order_identities before inserting). order_items.order_id carries no
-- foreign key, since a foreign key cannot reference a hypertable; the store
-- deletes an order's items itself.

CREATE TABLE organizations (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id, created_at);

CREATE TABLE customers (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    external_id     TEXT,
    email           TEXT,
    email_lower     TEXT,
    first_name      TEXT,
    last_name       TEXT,
    full_name       TEXT,
    phone           TEXT,
    city            TEXT,
    country         TEXT,
    tags            JSONB NOT NULL DEFAULT '[]'::jsonb,
    properties      JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- Lowercased (Unicode-aware, by the application) "email full_name first
    -- last phone", for case-insensitive search identical on both backends.
    search_text     TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX customers_org_email_lower_key ON customers (organization_id, email_lower)
    WHERE email_lower IS NOT NULL;
-- The source system's own customer id (e.g. a CRM or shop customer number).
CREATE UNIQUE INDEX customers_org_external_id_key ON customers (organization_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX customers_org_phone_idx ON customers (organization_id, phone);
CREATE INDEX customers_org_full_name_idx ON customers (organization_id, lower(full_name));
CREATE INDEX customers_org_created_idx ON customers (organization_id, created_at);

CREATE TABLE orders (
    id              UUID NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    external_id     TEXT NOT NULL,
    customer_id     UUID REFERENCES customers(id) ON DELETE SET NULL,
    amount          DOUBLE PRECISION NOT NULL,
    currency        TEXT,
    status          TEXT,
    items           JSONB NOT NULL DEFAULT '[]'::jsonb,
    ordered_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, ordered_at)
);
-- Hypertable-compatible; per-organization uniqueness of external_id is the
-- application's job (see the header).
CREATE UNIQUE INDEX orders_org_external_id_key ON orders (organization_id, external_id, ordered_at);
CREATE INDEX orders_org_external_id_idx ON orders (organization_id, external_id);
CREATE INDEX orders_org_customer_idx ON orders (organization_id, customer_id, ordered_at);
CREATE INDEX orders_org_ordered_at_idx ON orders (organization_id, ordered_at, amount);

CREATE TABLE order_items (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    order_id        UUID NOT NULL,
    ordered_at      TIMESTAMPTZ NOT NULL,
    product_name    TEXT NOT NULL,
    sku             TEXT,
    category        TEXT,
    quantity        DOUBLE PRECISION NOT NULL,
    unit_price      DOUBLE PRECISION
);
CREATE INDEX order_items_org_order_idx ON order_items (organization_id, order_id);
CREATE INDEX order_items_org_ordered_at_idx ON order_items (organization_id, ordered_at);

CREATE TABLE customer_events (
    id              UUID NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    channel         TEXT,
    properties      JSONB NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, occurred_at)
);
CREATE INDEX customer_events_org_customer_idx ON customer_events (organization_id, customer_id, occurred_at);
CREATE INDEX customer_events_org_occurred_idx ON customer_events (organization_id, occurred_at);
CREATE INDEX customer_events_org_type_idx ON customer_events (organization_id, event_type, occurred_at);

CREATE TABLE customer_features (
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    features        JSONB NOT NULL DEFAULT '{}'::jsonb,
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, customer_id)
);

CREATE TABLE segments (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    definition      JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX segments_org_idx ON segments (organization_id, created_at);

CREATE TABLE segment_memberships (
    organization_id     UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    segment_id          UUID NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    customer_id         UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    joined_at           TIMESTAMPTZ NOT NULL,
    left_at             TIMESTAMPTZ,
    previous_segment_id UUID REFERENCES segments(id) ON DELETE SET NULL,
    PRIMARY KEY (segment_id, customer_id, joined_at)
);
CREATE INDEX segment_memberships_org_segment_idx ON segment_memberships (organization_id, segment_id, left_at);
CREATE INDEX segment_memberships_org_customer_idx ON segment_memberships (organization_id, customer_id, joined_at);

CREATE TABLE churn_predictions (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    horizon_days    BIGINT NOT NULL,
    probability     DOUBLE PRECISION NOT NULL,
    clv             DOUBLE PRECISION,
    risk_tier       TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    predicted_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX churn_predictions_org_customer_idx ON churn_predictions (organization_id, customer_id, predicted_at);
CREATE INDEX churn_predictions_org_predicted_idx ON churn_predictions (organization_id, predicted_at);

CREATE TABLE campaigns (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    subject         TEXT,
    segment_id      UUID REFERENCES segments(id) ON DELETE SET NULL,
    status          TEXT NOT NULL,
    predicted       JSONB,
    actual          JSONB,
    scheduled_at    TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX campaigns_org_idx ON campaigns (organization_id, created_at);

CREATE TABLE brand_mentions (
    id                UUID NOT NULL,
    organization_id   UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    source            TEXT NOT NULL,
    author            TEXT,
    text              TEXT NOT NULL,
    url               TEXT,
    overall_sentiment DOUBLE PRECISION,
    aspect_scores     JSONB NOT NULL DEFAULT '{}'::jsonb,
    mentioned_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, mentioned_at)
);
CREATE INDEX brand_mentions_org_mentioned_idx ON brand_mentions (organization_id, mentioned_at);

CREATE TABLE channel_spend (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    date            DATE NOT NULL,
    channel         TEXT NOT NULL,
    spend           DOUBLE PRECISION NOT NULL,
    impressions     BIGINT,
    clicks          BIGINT,
    UNIQUE (organization_id, date, channel)
);

CREATE TABLE connectors (
    id                     UUID PRIMARY KEY,
    organization_id        UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    credentials_ciphertext BYTEA,
    credentials_nonce      BYTEA,
    config                 JSONB NOT NULL DEFAULT '{}'::jsonb,
    status                 TEXT NOT NULL,
    last_sync_at           TIMESTAMPTZ,
    created_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX connectors_org_idx ON connectors (organization_id, kind);

CREATE TABLE alerts (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    customer_id     UUID REFERENCES customers(id) ON DELETE SET NULL,
    title           TEXT NOT NULL,
    details         JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ
);
CREATE INDEX alerts_org_created_idx ON alerts (organization_id, created_at);

CREATE TABLE conversations (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    title           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_org_idx ON conversations (organization_id, updated_at);

CREATE TABLE messages (
    id              UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    metadata        JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_org_conversation_idx ON messages (organization_id, conversation_id, created_at);

CREATE TABLE graph_checkpoints (
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    thread_id       TEXT NOT NULL,
    step            BIGINT NOT NULL,
    parent_step     BIGINT,
    node            TEXT NOT NULL,
    delta           JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (thread_id, step)
);
CREATE INDEX graph_checkpoints_org_thread_idx ON graph_checkpoints (organization_id, thread_id, step);
CREATE INDEX graph_checkpoints_org_created_idx ON graph_checkpoints (organization_id, created_at);

-- organization_id is NULL for system-wide jobs.
CREATE TABLE jobs (
    id              UUID PRIMARY KEY,
    organization_id UUID REFERENCES organizations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    trigger         TEXT NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    duration_ms     BIGINT,
    error           TEXT,
    details         JSONB
);
CREATE INDEX jobs_org_started_idx ON jobs (organization_id, started_at);

-- organization_id is NULL for models shared by all organizations.
CREATE TABLE model_registry (
    id              UUID PRIMARY KEY,
    organization_id UUID REFERENCES organizations(id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    version         TEXT NOT NULL,
    metrics         JSONB NOT NULL DEFAULT '{}'::jsonb,
    artifact_path   TEXT,
    trained_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (organization_id, model, version)
);
CREATE UNIQUE INDEX model_registry_global_key ON model_registry (model, version)
    WHERE organization_id IS NULL;
CREATE INDEX model_registry_org_model_idx ON model_registry (organization_id, model, trained_at);

CREATE TABLE imports (
    id                UUID PRIMARY KEY,
    organization_id   UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    source            TEXT NOT NULL,
    status            TEXT NOT NULL,
    rows_total        BIGINT NOT NULL DEFAULT 0,
    rows_rejected     BIGINT NOT NULL DEFAULT 0,
    customers_created BIGINT NOT NULL DEFAULT 0,
    customers_updated BIGINT NOT NULL DEFAULT 0,
    orders_created    BIGINT NOT NULL DEFAULT 0,
    orders_updated    BIGINT NOT NULL DEFAULT 0,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    error             TEXT
);
CREATE INDEX imports_org_started_idx ON imports (organization_id, started_at);

-- TimescaleDB: turn the time-series tables into hypertables when the
-- extension is available. If it is available but cannot be created (for
-- example, not in shared_preload_libraries), the schema stays plain
-- PostgreSQL with a warning; the time indexes above exist either way.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            PERFORM create_hypertable('orders', 'ordered_at',
                if_not_exists => TRUE, migrate_data => TRUE);
            PERFORM create_hypertable('customer_events', 'occurred_at',
                if_not_exists => TRUE, migrate_data => TRUE);
            PERFORM create_hypertable('brand_mentions', 'mentioned_at',
                if_not_exists => TRUE, migrate_data => TRUE);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'timescaledb is available but hypertables were not created: %', SQLERRM;
        END;
    END IF;
END
$$;
