-- Household membership roles are the base roles only (seed 004: "Household relationships MUST use
-- base relationships only"; docs/decisions/0007). New tenants get `membership-role` seeded as a
-- fixed vocabulary; this brings the tenants seeded before that in line:
-- - the vocabulary can no longer be extended (POST …/membership-role/codes → 409);
-- - codes a tenant admin added earlier are deprecated, not deleted: memberships that already use
--   one keep it as history, but no membership can be written with it any more (422).
UPDATE vocabularies
   SET extendable = false, name = 'Household membership roles (base roles only)'
 WHERE code = 'membership-role';

UPDATE vocabulary_codes
   SET deprecated = true
 WHERE vocabulary = 'membership-role' AND NOT is_system AND NOT deprecated;
