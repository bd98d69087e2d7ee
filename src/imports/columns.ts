import { AppError } from '../http/errors.js';

/**
 * The documented CSV columns of a person import and how each maps onto the body of
 * POST /api/v1/persons. Empty cells are absent fields. Column names are case-sensitive.
 */
export interface ColumnDoc {
  name: string;
  maps_to: string;
  description: string;
}

const IDENTITY_SLOTS = 3;
const ADDRESS_PARTS = ['text', 'line', 'city', 'district', 'region', 'postal_code', 'country'] as const;
/** Contact columns in the order they become contacts; the first one given is primary. */
export const CONTACT_COLUMNS = ['phone', 'phone2', 'whatsapp', 'email'] as const;

const identityPrefix = (slot: number) => (slot === 0 ? 'identity' : `identity${slot + 1}`);

export const COLUMN_DOCS: ColumnDoc[] = [
  { name: 'full_name', maps_to: 'full_name', description: 'required' },
  { name: 'given_name', maps_to: 'given_name', description: '' },
  { name: 'family_name', maps_to: 'family_name', description: '' },
  { name: 'additional_name', maps_to: 'additional_name', description: '' },
  { name: 'date_of_birth', maps_to: 'date_of_birth', description: 'YYYY-MM-DD; this or age_estimate' },
  { name: 'age_estimate', maps_to: 'age_estimate', description: 'whole years, when the date is unknown' },
  { name: 'gender', maps_to: 'gender', description: 'required; gender vocabulary code (0, 1, 2, 9)' },
  ...Array.from({ length: IDENTITY_SLOTS }, (_, slot) => {
    const p = identityPrefix(slot);
    return [
      { name: `${p}_type`, maps_to: `identities[${slot}].identity_type`, description: 'id-type code' },
      { name: `${p}_number`, maps_to: `identities[${slot}].identity_number`, description: '' },
      { name: `${p}_expiry_date`, maps_to: `identities[${slot}].expiry_date`, description: 'YYYY-MM-DD' },
    ];
  }).flat(),
  ...CONTACT_COLUMNS.map((c) => ({
    name: c,
    maps_to: `contacts[].value (type ${c.replace(/\d$/, '')})`,
    description: c === 'email' ? '' : 'E.164 or national format (tenant default country)',
  })),
  { name: 'birth_place', maps_to: 'birth_place', description: '' },
  ...ADDRESS_PARTS.map((part) => ({
    name: `address_${part}`,
    maps_to: part === 'line' ? 'address.line[0]' : `address.${part}`,
    description: '',
  })),
  { name: 'geo_id', maps_to: 'geo_id', description: 'geo area id' },
  { name: 'geo_code', maps_to: 'geo_id', description: 'geo area code, resolved to its id' },
  { name: 'household_id', maps_to: 'household_id', description: 'existing household the person joins' },
  {
    name: 'relationship_type',
    maps_to: 'relationship_type',
    description: 'membership role with household_id (default member)',
  },
  { name: 'extensions', maps_to: 'extensions', description: 'JSON object of registered extensions' },
];

export const KNOWN_COLUMNS: ReadonlySet<string> = new Set(COLUMN_DOCS.map((c) => c.name));

/** One line per column, for the OpenAPI description and the README. */
export function columnsMarkdown(): string {
  return COLUMN_DOCS.map(
    (c) => `\`${c.name}\` → ${c.maps_to}${c.description ? ` (${c.description})` : ''}`,
  ).join('; ');
}

/** Refuses a header with unknown, repeated or missing columns (the whole upload is refused: 422). */
export function checkHeader(header: string[]): void {
  const problems: { field: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const raw of header) {
    const name = raw.trim();
    if (!KNOWN_COLUMNS.has(name))
      problems.push({ field: name || '(empty)', message: 'is not a known column' });
    else if (seen.has(name)) problems.push({ field: name, message: 'appears twice in the header' });
    seen.add(name);
  }
  if (!seen.has('full_name')) problems.push({ field: 'full_name', message: 'column is required' });
  if (!seen.has('gender')) problems.push({ field: 'gender', message: 'column is required' });
  if (!seen.has('date_of_birth') && !seen.has('age_estimate')) {
    problems.push({ field: 'date_of_birth', message: 'column (or age_estimate) is required' });
  }
  if (problems.length > 0) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', `CSV header: ${problems[0].field} ${problems[0].message}`, {
      errors: problems,
    });
  }
}

/** A CSV row as the person input it stands for, and where each input path came from. */
export interface MappedRow {
  input: Record<string, unknown>;
  /** geo_code given instead of geo_id (resolved by the caller). */
  geoCode: string | null;
  /** contacts[i] → its column. */
  contactColumns: string[];
  /** identities[i] → its column group (0: identity_*, 1: identity2_*, …). */
  identitySlots: number[];
  /** A cell that could not become its field (bad number, bad JSON): column → message. */
  cellErrors: { field: string; message: string }[];
}

export function mapCsvRow(header: readonly string[], cells: readonly string[]): MappedRow {
  const v = new Map<string, string>();
  header.forEach((name, i) => {
    const cell = cells[i];
    if (cell !== undefined && cell.trim() !== '') v.set(name.trim(), cell.trim());
  });
  const input: Record<string, unknown> = {};
  const cellErrors: MappedRow['cellErrors'] = [];
  for (const f of ['full_name', 'given_name', 'family_name', 'additional_name', 'date_of_birth', 'gender']) {
    if (v.has(f)) input[f] = v.get(f);
  }
  for (const f of ['birth_place', 'geo_id', 'household_id', 'relationship_type']) {
    if (v.has(f)) input[f] = v.get(f);
  }
  const age = v.get('age_estimate');
  if (age !== undefined) {
    if (/^\d{1,3}$/.test(age)) input.age_estimate = Number(age);
    else cellErrors.push({ field: 'age_estimate', message: 'must be a whole number of years' });
  }
  const identities: Record<string, string>[] = [];
  const identitySlots: number[] = [];
  for (let slot = 0; slot < IDENTITY_SLOTS; slot++) {
    const p = identityPrefix(slot);
    const id: Record<string, string> = {};
    if (v.has(`${p}_type`)) id.identity_type = v.get(`${p}_type`)!;
    if (v.has(`${p}_number`)) id.identity_number = v.get(`${p}_number`)!;
    if (v.has(`${p}_expiry_date`)) id.expiry_date = v.get(`${p}_expiry_date`)!;
    if (Object.keys(id).length > 0) {
      identities.push(id);
      identitySlots.push(slot);
    }
  }
  if (identities.length > 0) input.identities = identities;
  const contacts: { type: string; value: string }[] = [];
  const contactColumns: string[] = [];
  for (const c of CONTACT_COLUMNS) {
    const value = v.get(c);
    if (value === undefined) continue;
    contacts.push({ type: c.replace(/\d$/, ''), value });
    contactColumns.push(c);
  }
  if (contacts.length > 0) input.contacts = contacts;
  const address: Record<string, unknown> = {};
  for (const part of ADDRESS_PARTS) {
    const value = v.get(`address_${part}`);
    if (value !== undefined) address[part] = part === 'line' ? [value] : value;
  }
  if (Object.keys(address).length > 0) input.address = address;
  const ext = v.get('extensions');
  if (ext !== undefined) {
    try {
      input.extensions = JSON.parse(ext);
    } catch {
      cellErrors.push({ field: 'extensions', message: 'is not valid JSON' });
    }
  }
  return { input, geoCode: v.get('geo_code') ?? null, contactColumns, identitySlots, cellErrors };
}

/**
 * The CSV column an error about an input path refers to (`identities[1].identity_number` →
 * `identity2_number`, `address.city` → `address_city`). Unknown paths are kept as they are.
 */
export function columnOf(path: string, row: Pick<MappedRow, 'contactColumns' | 'identitySlots'>): string {
  let m = /^identities\[(\d+)\]\.(identity_type|identity_number|expiry_date)/.exec(path);
  if (m) {
    const slot = row.identitySlots[Number(m[1])] ?? 0;
    return `${identityPrefix(slot)}_${m[2].replace('identity_', '')}`;
  }
  if (path === 'identities' || path.startsWith('identities[')) return 'identity_number';
  m = /^contacts\[(\d+)\]/.exec(path);
  if (m) return row.contactColumns[Number(m[1])] ?? 'phone';
  m = /^address\.(\w+)/.exec(path);
  if (m) return `address_${m[1]}`;
  if (path.startsWith('extensions')) return 'extensions';
  return path;
}
