-- Behavioural fingerprints (M1): one embedding per customer from the latest
-- fingerprint run, as little-endian f32 bytes, with its cluster label
-- (NULL = noise / unclustered).
CREATE TABLE customer_fingerprints (
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id     BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    model_version   TEXT NOT NULL,
    vector          BLOB NOT NULL,
    cluster         INTEGER,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (organization_id, customer_id)
);
