import { maskValue } from '../access/classification.js';
import { noteMasking, noteSensitiveRead, type PersonDecision, sees } from '../access/person-access.js';
import { identitySystem } from '../vocabulary/seed.js';
import { ageOn } from './normalize.js';
import type { PersonRow } from './person-repo.js';
import type { PersonView } from './person-schemas.js';

/**
 * The one way a person leaves the service: every field passes the reader's decision
 * (`sees`, src/access). Hidden fields are null (lists empty) or partly masked, and always named
 * in masked_fields.
 */
export function personView(row: PersonRow, d: PersonDecision): PersonView {
  const masked: string[] = [];
  const shown: string[] = [];
  const show = <T>(field: string, value: T, hidden: T): T => {
    if (sees(d, field)) {
      if (value !== null && !(Array.isArray(value) && value.length === 0)) shown.push(field);
      return value;
    }
    if (value !== null && !(Array.isArray(value) && value.length === 0)) masked.push(field);
    return hidden;
  };
  const numbersVisible = sees(d, 'identities.identity_number');
  const identities = show(
    'identities',
    row.identities.map((i) => ({
      identity_type: i.identity_type,
      identity_number: numbersVisible ? i.identity_number : maskValue(i.identity_number),
      system: identitySystem(i.identity_type),
      expiry_date: i.expiry_date,
      status: i.status,
      description: i.description,
    })),
    [],
  );
  if (!numbersVisible && identities.length > 0) masked.push('identities.identity_number');
  if (numbersVisible && identities.length > 0) shown.push('identities.identity_number');
  // Staff who see personal fields but not contacts get them with the value partly masked (which
  // kind of contact exists is part of the record); a contract that does not name contacts sends none.
  const partly = d.grant.kind === 'classes' && d.grant.classes.has('personal');
  const contacts =
    sees(d, 'contacts') || !partly
      ? show('contacts', row.contacts, [])
      : row.contacts.map((c) => ({ ...c, value: maskValue(c.value) }));
  if (!sees(d, 'contacts') && partly && contacts.length > 0) masked.push('contacts');
  noteSensitiveRead(d, shown);
  const estimated = row.birth_date_estimated && row.date_of_birth ? ageOn(row.date_of_birth) : null;
  return {
    person_id: row.id,
    system_guid: row.system_guid,
    full_name: show('full_name', row.full_name, null),
    given_name: show('given_name', row.given_name, null),
    family_name: show('family_name', row.family_name, null),
    additional_name: show('additional_name', row.additional_name, null),
    date_of_birth: show('date_of_birth', row.date_of_birth, null),
    birth_date_estimated: show('birth_date_estimated', row.birth_date_estimated, null),
    age_estimate: show('age_estimate', estimated, null),
    gender: show('gender', row.gender, null),
    identities,
    contacts,
    birth_place: show('birth_place', row.birth_place, null),
    address: show('address', row.address, null),
    geo_id: show('geo_id', row.geo_id, null),
    household_id: show('household_id', row.household_id, null),
    extensions: show('extensions', row.extensions, null),
    verification_status: show('verification_status', row.verification_status, null),
    verified_by: show('verified_by', row.verified_by, null),
    verified_at: show('verified_at', row.verified_at?.toISOString() ?? null, null),
    status: row.status,
    archived_at: show('archived_at', row.archived_at?.toISOString() ?? null, null),
    version_id: row.version_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    provenance: show(
      'provenance',
      {
        created_by: row.created_by,
        source_system: row.source_system,
        collection_method: row.collection_method,
        recorded_at: row.created_at.toISOString(),
        updated_by: row.updated_by,
        last_update_system: row.last_update_system,
      },
      null,
    ),
    consent_status: d.consent,
    masked_fields: noteMasking(d, [...new Set(masked)]),
  };
}
