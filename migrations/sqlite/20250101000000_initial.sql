-- AIMA initial schema (SQLite).
--
-- Types: ids are UUIDs stored as 16-byte BLOBs (sqlx's encoding of uuid::Uuid),
-- times are RFC 3339 TEXT in UTC written by the application (chrono
-- DateTime<Utc>, so they sort lexicographically), JSON is TEXT, money is REAL.
-- Every table except organizations carries organization_id, and its indexes
-- start with it. The logical schema matches migrations/postgres.

CREATE TABLE organizations (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE INDEX api_keys_org_idx ON api_keys (organization_id, created_at);

CREATE TABLE customers (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    external_id     TEXT,
    email           TEXT,
    email_lower     TEXT,
    first_name      TEXT,
    last_name       TEXT,
    full_name       TEXT,
    phone           TEXT,
    city            TEXT,
    country         TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    properties      TEXT NOT NULL DEFAULT '{}',
    -- Lowercased (Unicode-aware, by the application) "email full_name first
    -- last phone", for case-insensitive search identical on both backends.
    search_text     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX customers_org_email_lower_key ON customers (organization_id, email_lower)
    WHERE email_lower IS NOT NULL;
-- The source system's own customer id (e.g. a CRM or shop customer number).
CREATE UNIQUE INDEX customers_org_external_id_key ON customers (organization_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX customers_org_phone_idx ON customers (organization_id, phone);
CREATE INDEX customers_org_full_name_idx ON customers (organization_id, lower(full_name));
CREATE INDEX customers_org_created_idx ON customers (organization_id, created_at);

-- (organization_id, external_id) is unique here; PostgreSQL enforces it in
-- the application (see migrations/postgres).
CREATE TABLE orders (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    external_id     TEXT NOT NULL,
    customer_id     BLOB REFERENCES customers(id) ON DELETE SET NULL,
    amount          REAL NOT NULL,
    currency        TEXT,
    status          TEXT,
    items           TEXT NOT NULL DEFAULT '[]',
    ordered_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_org_external_id_key ON orders (organization_id, external_id);
CREATE INDEX orders_org_customer_idx ON orders (organization_id, customer_id, ordered_at);
CREATE INDEX orders_org_ordered_at_idx ON orders (organization_id, ordered_at, amount);

-- Order lines are written only by the store (with the order, generated ids)
-- and read by aggregate: to keep bulk imports fast, the id is not indexed and
-- order_id has no foreign key (as on PostgreSQL, where orders may be a
-- hypertable); the store deletes an order's lines itself.
CREATE TABLE order_items (
    id              BLOB NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    order_id        BLOB NOT NULL,
    ordered_at      TEXT NOT NULL,
    product_name    TEXT NOT NULL,
    sku             TEXT,
    category        TEXT,
    quantity        REAL NOT NULL,
    unit_price      REAL
);
CREATE INDEX order_items_org_order_idx ON order_items (organization_id, order_id);
CREATE INDEX order_items_org_ordered_at_idx ON order_items (organization_id, ordered_at);

CREATE TABLE customer_events (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    channel         TEXT,
    properties      TEXT NOT NULL DEFAULT '{}',
    occurred_at     TEXT NOT NULL
);
CREATE INDEX customer_events_org_customer_idx ON customer_events (organization_id, customer_id, occurred_at);
CREATE INDEX customer_events_org_occurred_idx ON customer_events (organization_id, occurred_at);
CREATE INDEX customer_events_org_type_idx ON customer_events (organization_id, event_type, occurred_at);

CREATE TABLE customer_features (
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    features        TEXT NOT NULL DEFAULT '{}',
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (organization_id, customer_id)
);

CREATE TABLE segments (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    definition      TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX segments_org_idx ON segments (organization_id, created_at);

CREATE TABLE segment_memberships (
    organization_id     BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    segment_id          BLOB NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    customer_id         BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    joined_at           TEXT NOT NULL,
    left_at             TEXT,
    previous_segment_id BLOB REFERENCES segments(id) ON DELETE SET NULL,
    PRIMARY KEY (segment_id, customer_id, joined_at)
);
CREATE INDEX segment_memberships_org_segment_idx ON segment_memberships (organization_id, segment_id, left_at);
CREATE INDEX segment_memberships_org_customer_idx ON segment_memberships (organization_id, customer_id, joined_at);

CREATE TABLE churn_predictions (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    horizon_days    INTEGER NOT NULL,
    probability     REAL NOT NULL,
    clv             REAL,
    risk_tier       TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    predicted_at    TEXT NOT NULL
);
CREATE INDEX churn_predictions_org_customer_idx ON churn_predictions (organization_id, customer_id, predicted_at);
CREATE INDEX churn_predictions_org_predicted_idx ON churn_predictions (organization_id, predicted_at);

CREATE TABLE campaigns (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    subject         TEXT,
    segment_id      BLOB REFERENCES segments(id) ON DELETE SET NULL,
    status          TEXT NOT NULL,
    predicted       TEXT,
    actual          TEXT,
    scheduled_at    TEXT,
    sent_at         TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX campaigns_org_idx ON campaigns (organization_id, created_at);

CREATE TABLE brand_mentions (
    id                BLOB PRIMARY KEY NOT NULL,
    organization_id   BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    source            TEXT NOT NULL,
    author            TEXT,
    text              TEXT NOT NULL,
    url               TEXT,
    overall_sentiment REAL,
    aspect_scores     TEXT NOT NULL DEFAULT '{}',
    mentioned_at      TEXT NOT NULL
);
CREATE INDEX brand_mentions_org_mentioned_idx ON brand_mentions (organization_id, mentioned_at);

CREATE TABLE channel_spend (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    date            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    spend           REAL NOT NULL,
    impressions     INTEGER,
    clicks          INTEGER,
    UNIQUE (organization_id, date, channel)
);

CREATE TABLE connectors (
    id                     BLOB PRIMARY KEY NOT NULL,
    organization_id        BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    credentials_ciphertext BLOB,
    credentials_nonce      BLOB,
    config                 TEXT NOT NULL DEFAULT '{}',
    status                 TEXT NOT NULL,
    last_sync_at           TEXT,
    created_at             TEXT NOT NULL
);
CREATE INDEX connectors_org_idx ON connectors (organization_id, kind);

CREATE TABLE alerts (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    customer_id     BLOB REFERENCES customers(id) ON DELETE SET NULL,
    title           TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    acknowledged_at TEXT
);
CREATE INDEX alerts_org_created_idx ON alerts (organization_id, created_at);

CREATE TABLE conversations (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    title           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX conversations_org_idx ON conversations (organization_id, updated_at);

CREATE TABLE messages (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    conversation_id BLOB NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_org_conversation_idx ON messages (organization_id, conversation_id, created_at);

CREATE TABLE graph_checkpoints (
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    thread_id       TEXT NOT NULL,
    step            INTEGER NOT NULL,
    parent_step     INTEGER,
    node            TEXT NOT NULL,
    delta           TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (thread_id, step)
);
CREATE INDEX graph_checkpoints_org_thread_idx ON graph_checkpoints (organization_id, thread_id, step);
CREATE INDEX graph_checkpoints_org_created_idx ON graph_checkpoints (organization_id, created_at);

-- organization_id is NULL for system-wide jobs.
CREATE TABLE jobs (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB REFERENCES organizations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    trigger         TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    duration_ms     INTEGER,
    error           TEXT,
    details         TEXT
);
CREATE INDEX jobs_org_started_idx ON jobs (organization_id, started_at);

-- organization_id is NULL for models shared by all organizations.
CREATE TABLE model_registry (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB REFERENCES organizations(id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    version         TEXT NOT NULL,
    metrics         TEXT NOT NULL DEFAULT '{}',
    artifact_path   TEXT,
    trained_at      TEXT NOT NULL,
    UNIQUE (organization_id, model, version)
);
CREATE UNIQUE INDEX model_registry_global_key ON model_registry (model, version)
    WHERE organization_id IS NULL;
CREATE INDEX model_registry_org_model_idx ON model_registry (organization_id, model, trained_at);

CREATE TABLE imports (
    id                BLOB PRIMARY KEY NOT NULL,
    organization_id   BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    source            TEXT NOT NULL,
    status            TEXT NOT NULL,
    rows_total        INTEGER NOT NULL DEFAULT 0,
    rows_rejected     INTEGER NOT NULL DEFAULT 0,
    customers_created INTEGER NOT NULL DEFAULT 0,
    customers_updated INTEGER NOT NULL DEFAULT 0,
    orders_created    INTEGER NOT NULL DEFAULT 0,
    orders_updated    INTEGER NOT NULL DEFAULT 0,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    error             TEXT
);
CREATE INDEX imports_org_started_idx ON imports (organization_id, started_at);
