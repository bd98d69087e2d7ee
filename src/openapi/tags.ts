/**
 * Tags of the document in reading order, each with what it groups. A route whose tag is missing
 * here is reported by the OpenAPI lint test (rule operation-tag-defined).
 */
export const TAGS: { name: string; description: string }[] = [
  {
    name: 'auth',
    description:
      'Tokens (OAuth 2.0 client credentials), the keys that verify them, and signing-key rotation.',
  },
  {
    name: 'persons',
    description:
      'The people of the registry: register, read (masked under consent), search, update with If-Match, verify, archive, and their history and likely duplicates.',
  },
  {
    name: 'households',
    description:
      'Households, their leader and members (memberships keep their history), search by area or radius.',
  },
  {
    name: 'relationships',
    description: 'Family relationships between persons (parent, spouse, sibling…), versioned.',
  },
  {
    name: 'consents',
    description:
      'Consents of a person per vertical, with their evidence: capture → verify → active → withdraw, renew or expire (read-only grace). Every person read on every face passes them.',
  },
  {
    name: 'imports',
    description: 'Bulk person imports from CSV or NDJSON files, processed by a job, with per-row errors.',
  },
  {
    name: 'programmes',
    description:
      'Social protection programmes and the enrolment of persons or households (draft → enrolled ⇄ paused → exited).',
  },
  {
    name: 'integrations',
    description:
      'Partner systems: the review and approval lifecycle, data contracts (purpose, fields, consent requirements) and shared templates.',
  },
  {
    name: 'data exchange',
    description:
      'Pull consented persons and push records under a contract, as an integration’s own client; every exchange is logged.',
  },
  {
    name: 'webhooks',
    description:
      'Signed event deliveries to an integration’s https endpoint, with the delivery log and redelivery.',
  },
  {
    name: 'vocabularies',
    description: 'Coded values (gender, id types, relationship roles…) with their namespace URIs.',
  },
  { name: 'geo', description: 'Administrative areas of the tenant (a tree), used for search and placement.' },
  { name: 'extensions', description: 'Tenant-defined extension fields, each a registered JSON Schema.' },
  {
    name: 'audit',
    description: 'The per-tenant, hash-chained audit log of every call, and its verification.',
  },
  {
    name: 'statistics',
    description:
      'Aggregate counts for the dashboard (persons, households, consents, imports, integrations), for the tenant’s staff only; breakdowns by a field the reader sees masked are withheld.',
  },
  {
    name: 'sessions',
    description:
      'People sign in: local accounts (password, TOTP) or OpenID Connect, into a browser session with a CSRF token.',
  },
  {
    name: 'users',
    description: 'User accounts of people, managed by tenant admins: roles, activation, password resets.',
  },
  {
    name: 'tenancy',
    description: 'Tenants (ROOT) and their verticals (programme areas that consent and scopes refer to).',
  },
  {
    name: 'api clients',
    description:
      'API clients of a tenant: roles, scopes, verticals and programmes they may use; secrets are shown once.',
  },
  {
    name: 'openspp-v2',
    description:
      'The OpenSPP API V2 compatible face (`/api/v2/spp`): Individual, Group, Program, ProgramMembership, Vocabulary and $batch, addressed by `{system}|{value}`.',
  },
  {
    name: 'dci',
    description:
      'The DCI Social Registry API (`/dci`): signed envelopes for search, transaction status and subscriptions, answered at once (sync) or by callback.',
  },
  {
    name: 'g2p',
    description:
      'The G2P Registry REST API (`/g2p/api/v1/registry`): individuals and groups with OpenG2P error codes; HTTP Basic or bearer.',
  },
  { name: 'operations', description: 'Liveness, readiness and Prometheus metrics for operators.' },
];
