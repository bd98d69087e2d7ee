import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Actor, systemActor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import * as importRepo from '../imports/repo.js';
import type { ImportView } from '../imports/schemas.js';
import {
  type CITIES,
  PERSON_COLUMNS,
  personCsvRow,
  prng,
  type SyntheticPerson,
  syntheticPerson,
} from '../imports/synthetic.js';
import type { Services } from '../services.js';
import { findTenantByCode } from '../tenancy/repo.js';
import { withServices } from './admin.js';
import { importFile, ProgressBar } from './import.js';

const USAGE =
  'usage: hearth demo [--tenant CODE] [--name NAME] [--persons N] [--seed S] [--consent-share 0.6]';

/** Region centroids (Kenya) the synthetic households are scattered around. */
const REGIONS: Record<(typeof CITIES)[number], [number, number]> = {
  Nairobi: [-1.2864, 36.8172],
  Mombasa: [-4.0435, 39.6682],
  Kisumu: [-0.0917, 34.768],
  Nakuru: [-0.3031, 36.08],
  Eldoret: [0.5143, 35.2698],
  Garissa: [-0.4532, 39.6461],
  Kakamega: [0.2827, 34.7519],
  Machakos: [-1.5177, 37.2634],
};

interface Member {
  person: SyntheticPerson;
  role: 'head' | 'spouse' | 'child' | 'parent';
}

interface PlannedHousehold {
  members: Member[];
  city: string;
}

/** Households of 1–8 persons: a head, often a spouse, children, sometimes a grandparent. */
function plan(total: number, seed: number): PlannedHousehold[] {
  const rnd = prng(seed);
  const out: PlannedHousehold[] = [];
  let i = 0;
  while (i < total) {
    const size = Math.min(total - i, [1, 2, 3, 4, 4, 5, 5, 6, 7, 8][Math.floor(rnd() * 10)]);
    const head = syntheticPerson(rnd, i++, seed, { minAge: 22, maxAge: 75 });
    const members: Member[] = [{ person: head, role: 'head' }];
    const headAge = new Date().getUTCFullYear() - Number(head.dateOfBirth.slice(0, 4));
    if (members.length < size && rnd() < 0.8) {
      const gender = head.gender === '1' ? '2' : '1';
      members.push({
        person: syntheticPerson(rnd, i++, seed, {
          gender,
          family: head.family,
          minAge: Math.max(18, headAge - 8),
          maxAge: headAge + 5,
        }),
        role: 'spouse',
      });
    }
    if (members.length < size && headAge > 45 && rnd() < 0.25) {
      members.push({
        person: syntheticPerson(rnd, i++, seed, {
          family: head.family,
          minAge: headAge + 18,
          maxAge: headAge + 35,
        }),
        role: 'parent',
      });
    }
    while (members.length < size) {
      members.push({
        person: syntheticPerson(rnd, i++, seed, {
          family: head.family,
          minAge: 0,
          maxAge: Math.max(0, headAge - 17),
        }),
        role: 'child',
      });
    }
    for (const m of members) m.person.city = head.city;
    out.push({ members, city: head.city });
  }
  return out;
}

async function ensureTenant(s: Services, db: Database, code: string, name: string): Promise<string> {
  const found = await findTenantByCode(db, code);
  if (found) return found.tenant_id;
  const created = await s.tenants.create(systemActor(null, 'cli'), { code, name });
  return created.tenant_id;
}

/** One geo area per region, coded DEMO-<CITY>, with its centroid. */
async function ensureAreas(
  s: Services,
  db: Database,
  actor: Actor,
  tenantId: string,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const lookup = (code: string) =>
    db.transaction((tx) => importRepo.findGeoIdByCode(tx, tenantId, code), { tenantId });
  let country = await lookup('DEMO-KE');
  country ??= (
    await s.geo.create(actor, {
      name: 'Kenya',
      code: 'DEMO-KE',
      level: 0,
      centroid_lat: 0.0236,
      centroid_lon: 37.9062,
    })
  ).geo_id;
  for (const [city, [lat, lon]] of Object.entries(REGIONS)) {
    const code = `DEMO-${city.toUpperCase()}`;
    const id =
      (await lookup(code)) ??
      (
        await s.geo.create(actor, {
          name: city,
          code,
          level: 1,
          parent_geo_id: country,
          centroid_lat: lat,
          centroid_lon: lon,
        })
      ).geo_id;
    ids.set(city, id);
  }
  return ids;
}

function writeCsv(file: string, header: string[], rows: Iterable<string>): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, `${header.join(',')}\n`);
    let batch: string[] = [];
    for (const r of rows) {
      batch.push(r);
      if (batch.length === 5_000) {
        fs.writeSync(fd, `${batch.join('\n')}\n`);
        batch = [];
      }
    }
    if (batch.length > 0) fs.writeSync(fd, `${batch.join('\n')}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

async function idsOf(
  db: Database,
  tenantId: string,
  people: SyntheticPerson[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < people.length; i += 5_000) {
    const keys = people.slice(i, i + 5_000).map((p) => p.nationalId);
    const found = await db.transaction(
      (tx) => importRepo.personIdsByIdentity(tx, tenantId, 'national_id', keys),
      {
        tenantId,
      },
    );
    for (const [k, v] of found) out.set(k, v);
  }
  return out;
}

async function runImport(
  s: Services,
  db: Database,
  actor: Actor,
  file: string,
  label: string,
): Promise<ImportView> {
  process.stderr.write(`${label}\n`);
  const view = await importFile(
    s,
    db,
    actor,
    file,
    {
      format: 'csv',
      onDuplicate: 'skip',
      mode: 'best_effort',
      dryRun: false,
      filename: path.basename(file),
      idempotencyKey: null,
    },
    new ProgressBar(),
  );
  if (view.status !== 'completed')
    throw new Error(`${label}: import ${view.status} (${view.error ?? 'see its errors'})`);
  return view;
}

/**
 * `hearth demo`: a synthetic tenant of a given size through the import path — heads of household
 * imported, their households created with coordinates, the other members imported into them,
 * family relationships between them and consents for a share of the households. The same seed
 * gives the same population. A tenant that already holds persons is refused (run it on a new one).
 */
export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string', default: 'demo' },
      name: { type: 'string' },
      persons: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '42' },
      'consent-share': { type: 'string', default: '0.6' },
    },
  });
  const total = Number(values.persons);
  const seed = Number(values.seed);
  const share = Number(values['consent-share']);
  if (!Number.isInteger(total) || total < 1 || !Number.isInteger(seed) || !(share >= 0 && share <= 1)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const households = plan(total, seed);
  const heads = households.map((h) => h.members[0].person);
  return withServices(async (s, db) => {
    const started = Date.now();
    const tenantId = await ensureTenant(s, db, values.tenant!, values.name ?? `Demo ${values.tenant}`);
    if (await db.transaction((tx) => importRepo.hasPersons(tx, tenantId), { tenantId })) {
      process.stderr.write(`tenant ${values.tenant} already holds persons: give a new --tenant code\n`);
      return 1;
    }
    const actor = systemActor(tenantId, 'hearth-demo');
    actor.sourceSystem = 'hearth-demo';
    const failures = new Map<string, { count: number; first: string }>();
    const failed = (what: string) => (err: unknown) => {
      const f = failures.get(what) ?? { count: 0, first: err instanceof Error ? err.message : String(err) };
      f.count++;
      failures.set(what, f);
      return null;
    };
    const areas = await ensureAreas(s, db, actor, tenantId);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-demo-'));
    try {
      const headerWithGeo = [...PERSON_COLUMNS, 'geo_code'];
      const headsFile = path.join(dir, 'heads.csv');
      writeCsv(
        headsFile,
        headerWithGeo,
        (function* () {
          for (const h of households)
            yield `${personCsvRow(h.members[0].person)},DEMO-${h.city.toUpperCase()}`;
        })(),
      );
      await runImport(s, db, actor, headsFile, `1/4 heads of household (${heads.length})`);
      const headIds = await idsOf(db, tenantId, heads);

      process.stderr.write(`2/4 households with coordinates (${households.length})\n`);
      const bar = new ProgressBar();
      const rnd = prng(seed + 1);
      const householdIds: (string | null)[] = [];
      for (const [i, h] of households.entries()) {
        const leader = headIds.get(h.members[0].person.nationalId);
        if (!leader) {
          householdIds.push(null);
          continue;
        }
        const [lat, lon] = REGIONS[h.city as keyof typeof REGIONS];
        const created = await s.households
          .create(actor, {
            household_name: `${h.members[0].person.family} household`,
            leader_id: leader,
            geo_id: areas.get(h.city),
            geo_lat: Number((lat + (rnd() - 0.5) * 0.2).toFixed(6)),
            geo_lon: Number((lon + (rnd() - 0.5) * 0.2).toFixed(6)),
            geo_accuracy: Math.round(5 + rnd() * 45),
            address: { city: h.city, country: 'Kenya' },
          })
          .catch(failed('household'));
        householdIds.push(created?.household_id ?? null);
        bar.draw('households', (100 * (i + 1)) / households.length, `${i + 1}/${households.length}`);
      }
      bar.done();

      const membersFile = path.join(dir, 'members.csv');
      const others: SyntheticPerson[] = [];
      writeCsv(
        membersFile,
        [...headerWithGeo, 'household_id', 'relationship_type'],
        (function* () {
          for (const [i, h] of households.entries()) {
            if (!householdIds[i]) continue;
            for (const m of h.members.slice(1)) {
              others.push(m.person);
              yield `${personCsvRow(m.person)},DEMO-${h.city.toUpperCase()},${householdIds[i]},${m.role}`;
            }
          }
        })(),
      );
      if (others.length > 0)
        await runImport(s, db, actor, membersFile, `3/4 household members (${others.length})`);
      const memberIds = await idsOf(db, tenantId, others);

      process.stderr.write('4/4 family relationships and consents\n');
      const verticals = await s.verticals.list(actor);
      const vertical = verticals.find((v) => v.code === 'HEALTH') ?? verticals[0];
      const evidence = await s.attachments.store(
        actor,
        Buffer.from('demo-signature'),
        'image/png',
        'signature.png',
      );
      const document = await s.attachments.store(
        actor,
        Buffer.from('demo-id-scan'),
        'application/pdf',
        'id.pdf',
      );
      let relationships = 0;
      let consents = 0;
      const bar2 = new ProgressBar();
      for (const [i, h] of households.entries()) {
        const head = headIds.get(h.members[0].person.nationalId);
        if (!head || !householdIds[i]) continue;
        for (const m of h.members.slice(1)) {
          const id = memberIds.get(m.person.nationalId);
          if (!id) continue;
          const link =
            m.role === 'spouse'
              ? { person_id: id, related_person_id: head, relationship_type: 'spouse' }
              : m.role === 'child'
                ? { person_id: head, related_person_id: id, relationship_type: 'parent' }
                : { person_id: id, related_person_id: head, relationship_type: 'parent' };
          const from =
            m.role === 'child'
              ? m.person.dateOfBirth
              : h.members[0].person.dateOfBirth.replace(/^\d{4}/, (y) => String(Number(y) + 20));
          await s.relationships
            .create(actor, { ...link, effective_from: from, verification_status: 'provisional' })
            .then(() => relationships++)
            .catch(failed('relationship'));
        }
        if (vertical && rnd() < share) {
          await s.persons.verify(actor, head, {}).catch(failed('verification'));
          await s.consents
            .capture(actor, head, {
              vertical_id: vertical.vertical_id,
              active_from: new Date(Date.now() - 60_000).toISOString(),
              capture_mode: 'online',
              evidence_attachment_ids: [evidence.attachment_id],
              verification_document_attachment_id: document.attachment_id,
              captured_by: 'demo-field-officer',
            })
            .then(() => consents++)
            .catch(failed('consent'));
        }
        bar2.draw(
          'links',
          (100 * (i + 1)) / households.length,
          `${relationships} relationships, ${consents} consents`,
        );
      }
      bar2.done();
      process.stdout.write(
        `${JSON.stringify(
          {
            tenant: values.tenant,
            tenant_id: tenantId,
            persons: heads.length + others.length,
            households: householdIds.filter(Boolean).length,
            relationships,
            consents,
            failures: Object.fromEntries(failures),
            seconds: Math.round((Date.now() - started) / 1000),
          },
          null,
          2,
        )}\n`,
      );
      return 0;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
