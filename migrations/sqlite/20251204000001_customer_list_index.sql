-- The customer list pages newest first by (created_at, id): an index in
-- that order lets a page stop after its rows, even when an import gave
-- thousands of customers the same created_at.
DROP INDEX customers_org_created_idx;
CREATE INDEX customers_org_created_id_idx ON customers (organization_id, created_at, id);
