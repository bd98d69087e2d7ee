/**
 * Hand-written examples where a generated one would not show a realistic call: which optional
 * fields go together, the DCI envelopes, the V2 and G2P wire shapes. One story runs through them
 * (Amina Wanjiru Otieno, her household, a health consent). test/openapi.test.ts validates each
 * against its schema, so a schema change that breaks one fails there.
 */

export const IDS = {
  person: '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f',
  child: '0192f0c4-7c2a-7d1b-8e3f-6a7b8c9d0e1f',
  household: '0192f0c5-1c2d-7e3f-8a4b-5c6d7e8f9a0b',
  vertical: '0192f0c3-aa10-7b20-8c30-d40e50f60a70',
  geo: '0192f0c2-5e60-7a70-8b80-c90da0eb0fc0',
  attachment: '0192f0c6-3d4e-7f50-8a61-b72c83d94ea5',
};

const NOW = '2026-03-14T09:30:00Z';

/** Examples of named schemas (components.schemas name → value). */
export const HAND_EXAMPLES: Record<string, unknown> = {
  PersonCreate: {
    full_name: 'Amina Wanjiru Otieno',
    given_name: 'Amina',
    family_name: 'Otieno',
    date_of_birth: '1988-04-12',
    gender: '2',
    identities: [{ identity_type: 'national_id', identity_number: '27461938' }],
    contacts: [{ type: 'phone', value: '+254712345678', primary: true }],
    address: { city: 'Kisumu', region: 'Kisumu County', country: 'KE' },
    geo_id: IDS.geo,
  },
  PersonPatch: {
    contacts: [{ type: 'phone', value: '+254722000111', primary: true }],
    address: { city: 'Nairobi', region: 'Nairobi County', country: 'KE' },
  },
  HouseholdCreate: {
    household_name: 'Otieno household',
    leader_id: IDS.person,
    geo_id: IDS.geo,
    address: { text: 'Plot 14, Manyatta, Kisumu', city: 'Kisumu', country: 'KE' },
  },
  HouseholdPatch: { household_name: 'Otieno–Achieng household' },
  MemberAdd: { person_id: IDS.child, relationship_type: 'child', effective_from: '2026-03-14' },
  ConsentCapture: {
    vertical_id: IDS.vertical,
    active_from: NOW,
    active_until: '2027-03-14T00:00:00Z',
    capture_mode: 'offline',
    evidence_attachment_ids: [IDS.attachment],
    captured_by: 'Field officer J. Mwangi',
  },
  TokenRequestBody: {
    grant_type: 'client_credentials',
    client_id: 'kisumu-registrar',
    client_secret: 'hs_6bq2XcVfT0pLw1mZr8nYkE4aJ9uD3sGh',
    scope: 'persons:read persons:write',
  },
  ClientCreate: { name: 'Kisumu registration desk', roles: ['registrar'] },
  V2IndividualInput: {
    resourceType: 'Individual',
    identifier: [{ system: 'urn:hearth:vocab:id-type#national_id', value: '27461938' }],
    name: { text: 'Amina Wanjiru Otieno', given: ['Amina', 'Wanjiru'], family: 'Otieno' },
    birthDate: '1988-04-12',
    gender: { coding: [{ system: 'urn:iso:std:iso:5218', code: '2', display: 'Female' }] },
    telecom: [{ system: 'phone', value: '+254712345678' }],
  },
  V2GroupInput: {
    resourceType: 'Group',
    identifier: [{ system: 'urn:hearth:vocab:id-type#household_number', value: 'KSM-000142' }],
    name: 'Otieno household',
    groupType: 'household',
    member: [
      {
        entity: { reference: `Individual/urn:hearth:id:person|${IDS.person}` },
        role: 'head',
      },
    ],
  },
  G2pIndividualInput: {
    name: 'OTIENO, AMINA WANJIRU',
    given_name: 'Amina',
    addl_name: 'Wanjiru',
    family_name: 'Otieno',
    gender: 'Female',
    birthdate: '1988-04-12',
    ids: [{ id_type: 'National ID', value: '27461938' }],
    phone_numbers: [{ phone_no: '+254712345678' }],
    registration_date: '2026-03-14',
  },
  G2pGroupInput: {
    name: 'Otieno household',
    kind: 'Household',
    registration_date: '2026-03-14',
    members: [
      {
        name: 'OTIENO, AMINA WANJIRU',
        given_name: 'Amina',
        family_name: 'Otieno',
        gender: 'Female',
        birthdate: '1988-04-12',
        ids: [{ id_type: 'National ID', value: '27461938' }],
        kind: [{ name: 'Head' }],
      },
    ],
  },
  G2pUpdateItem: {
    updateId: IDS.person,
    phone_numbers: [{ phone_no: '+254722000111' }],
    email: 'amina.otieno@example.org',
  },
  G2pGroupUpdateItem: {
    updateId: IDS.household,
    name: 'Otieno–Achieng household',
    address: 'Plot 16, Manyatta, Kisumu',
  },
  PersonStats: {
    as_of: NOW,
    total: 1_000_000,
    active: 980_000,
    by_status: [
      { status: 'active', verification_status: 'provisional', count: 653_000 },
      { status: 'active', verification_status: 'verified', count: 327_000 },
      { status: 'archived', verification_status: 'provisional', count: 13_000 },
      { status: 'archived', verification_status: 'verified', count: 7_000 },
    ],
    by_gender: [
      { gender: '1', count: 482_000 },
      { gender: '2', count: 491_000 },
      { gender: null, count: 7_000 },
    ],
    by_age_band: [
      { band: '0-4', count: 118_000 },
      { band: '5-17', count: 301_000 },
      { band: '18-59', count: 462_000 },
      { band: '60+', count: 92_000 },
      { band: 'unknown', count: 7_000 },
    ],
    by_registration_month: [
      { month: '2026-01', count: 86_000 },
      { month: '2026-02', count: 92_000 },
      { month: '2026-03', count: 41_000 },
    ],
    withheld: [],
  },
  HouseholdStats: {
    as_of: NOW,
    total: 251_000,
    by_status: [
      { status: 'archived', count: 3_000 },
      { status: 'provisional', count: 170_000 },
      { status: 'verified', count: 78_000 },
    ],
  },
  ConsentStats: {
    as_of: NOW,
    by_status: [
      { status: 'active', count: 402_000 },
      { status: 'expired', count: 21_000 },
      { status: 'pending', count: 5_400 },
      { status: 'withdrawn', count: 1_200 },
    ],
    by_vertical: [
      { vertical_id: IDS.vertical, vertical_code: 'HEALTH', status: 'active', count: 402_000 },
      { vertical_id: IDS.vertical, vertical_code: 'HEALTH', status: 'expired', count: 21_000 },
    ],
    expiring_within_days: 30,
    expiring_soon: 12_400,
    in_grace: 830,
  },
  ImportStats: {
    as_of: NOW,
    days: 30,
    runs: 3,
    by_status: [
      { status: 'completed', count: 2 },
      { status: 'failed', count: 1 },
    ],
    by_day: [
      { day: '2026-03-02', count: 1 },
      { day: '2026-03-12', count: 2 },
    ],
    rows_read: 25_000,
    rows_created: 23_950,
    rows_updated: 800,
    rows_rejected: 250,
  },
  IntegrationStats: {
    as_of: NOW,
    total: 4,
    by_status: [
      { status: 'active', count: 2 },
      { status: 'draft', count: 1 },
      { status: 'requested', count: 1 },
    ],
  },
};

function dciHeader(action: string, total = 1) {
  return {
    version: '1.0.0',
    message_id: 'msg-20260314-0001',
    message_ts: NOW,
    action,
    sender_id: 'partner.example.org',
    sender_uri: 'https://partner.example.org/dci/callback',
    receiver_id: 'hearth.example.org',
    total_count: total,
    is_msg_encrypted: false,
  };
}

const DCI_SEARCH = {
  signature: 'Signature: namespace="dci", kidId="partner.example.org|k1|ed25519", …',
  header: dciHeader('search'),
  message: {
    transaction_id: 'txn-20260314-0001',
    search_request: [
      {
        reference_id: 'ref-0001',
        timestamp: NOW,
        search_criteria: {
          reg_type: 'ns:org:RegistryType:Social',
          query_type: 'idtype-value',
          query: { type: 'UIN', value: '27461938' },
          pagination: { page_size: 10, page_number: 1 },
        },
      },
    ],
  },
};

/** Request examples of operations that share a schema but not a wire shape (by operationId). */
export const REQUEST_EXAMPLES: Record<string, unknown> = {
  dciSyncSearch: DCI_SEARCH,
  dciSearch: DCI_SEARCH,
  dciSyncTxnStatus: {
    header: dciHeader('txn-status'),
    message: {
      transaction_id: 'txn-20260314-0002',
      txnstatus_request: {
        reference_id: 'ref-0002',
        txn_type: 'search',
        attribute_type: 'transaction_id',
        attribute_value: 'txn-20260314-0001',
      },
    },
  },
  dciSubscribe: {
    header: dciHeader('subscribe'),
    message: {
      transaction_id: 'txn-20260314-0003',
      subscribe_request: [
        {
          reference_id: 'ref-0003',
          timestamp: NOW,
          subscribe_criteria: {
            reg_event_type: 'update',
            filter_type: 'idtype-value',
            filter: { type: 'UIN', value: '27461938' },
            notify_record_type: 'Person',
          },
        },
      ],
    },
  },
  dciUnsubscribe: {
    header: dciHeader('unsubscribe'),
    message: { transaction_id: 'txn-20260314-0004', timestamp: NOW, subscription_codes: ['sub-0192f0c4'] },
  },
};
REQUEST_EXAMPLES.dciTxnStatus = REQUEST_EXAMPLES.dciSyncTxnStatus;
