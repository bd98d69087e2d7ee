-- The tenant-wide consent work queue (GET /api/v1/consents): by status in id order, and active
-- consents by end date (consents_active_until, 0060) for "expiring before".
CREATE INDEX consents_queue ON consents (tenant_id, status, id);
