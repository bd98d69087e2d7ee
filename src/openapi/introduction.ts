/**
 * The introduction at the top of /docs (the document's `info.description`): from a token to a
 * first person, a consent, an integration and a pull, with this server's own URL in the commands.
 */
export function introduction(publicUrl: string): string {
  return `Hearth is a registry and data-exchange server for social protection programmes: persons and
households, their consents, programme enrolment, and sharing with partner systems only under
consent, masking, a data contract and a scoped token. This reference describes every operation of
this server (\`${publicUrl}\`): who may call it, the scopes it needs, its body and answers, with
examples. The faces for other standards are here too: **openspp-v2**, **dci** and **g2p**.

## Getting started: from a token to a first pull

**1. Credentials.** An administrator creates an API client for you — \`hearth client create
--tenant demo --name desk --roles registrar\` on the server, or \`POST /api/v1/clients\` — and gives
you its \`client_id\` and \`client_secret\` (shown once). Roles and their scopes are listed in the
README; each operation below names what it needs under **Who may call**.

**2. A token.** Exchange the credentials for a bearer token (valid one hour):

\`\`\`
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials ${publicUrl}/oauth/token
\`\`\`

Send it as \`Authorization: Bearer <access_token>\`. In the interactive console
([/docs/try](/docs/try)), press **Authorize** and enter the same id and secret under \`oauth2\`:
every "Try it out" then carries a token.

**3. A first person.** As a registrar, \`POST /api/v1/persons\` with the person's name, gender and
identities (the example of that operation is a complete body). The answer holds \`person_id\` and
likely duplicates; it is \`provisional\` until confirmed with
\`POST /api/v1/persons/{person_id}/verify\` (also \`persons:write\`).

**4. A consent.** Upload the signed form with \`POST /api/v1/attachments\` (the raw file as the
body), then \`POST /api/v1/persons/{person_id}/consents\` with the vertical (programme area, from
\`GET /api/v1/verticals\`), the window and the attachment ids. It starts \`pending\`; a reviewer
makes it \`active\` with \`POST /api/v1/consents/{consent_id}/verify\`. Partners see a person only
under an active consent of their verticals.

**5. An integration.** A partner system is registered with \`POST /api/v1/integrations\`, given a
data contract (\`POST …/{integration_id}/contracts\`: purpose, \`field_list\`, consent
requirements), then \`request-review\` → \`review\` (reviewer) → \`approve\` (an approver, not the
requester nor the reviewer) → \`activate\`, which returns the integration's own client id and
secret once; activate the contract with \`POST …/contracts/{contract_id}/activate\`.

**6. A pull.** With a token of the integration's client:
\`GET /api/v1/integrations/{integration_id}/data/pull?contract_id=…\` answers the consented persons
projected to the contract's fields and masked (JSON, CSV or XML; cursor pages, or a file with
\`delivery=file\`). Every pull and push is logged at \`…/exchanges\`.

## Conventions

- Errors are \`application/problem+json\` (RFC 9457) with a stable \`code\`, a \`detail\` and a
  \`correlation_id\` (also the \`X-Request-Id\` header); validation problems list \`errors[]\`. An
  operation with a security requirement answers 401 \`ERR_AUTH_INVALID\` without valid
  credentials (not repeated on each one). Any call may also answer 500 (\`ERR_SYS_INTERNAL\`) or 503 with \`Retry-After\` (database unavailable);
  the DCI and G2P faces wrap refusals in their own shapes.
- Lists answer \`{data, next_cursor}\`: pass \`limit\` (≤ 200) and the opaque \`cursor\`.
- Updates take \`If-Match\` with the \`version_id\` read (a stale one is refused); a POST with an
  \`Idempotency-Key\` runs once.
- Rate limits per client (and per IP on the token endpoints) answer 429 \`ERR_RATE_LIMITED\` with
  \`Retry-After\`, on any operation.
`;
}
