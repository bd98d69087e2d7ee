-- Ready for distribution by tenant (docs/decisions/0092): every unique key of a tenant table
-- includes tenant_id. A person's system_guid is generated (UUIDv4) and stays unique in practice;
-- it is enforced per tenant, which a table distributed by tenant_id can check on one node.
CREATE UNIQUE INDEX persons_tenant_system_guid ON persons (tenant_id, system_guid);
ALTER TABLE persons DROP CONSTRAINT persons_system_guid_key;
