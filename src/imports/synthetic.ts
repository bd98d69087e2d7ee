/**
 * Deterministic synthetic persons for demos, tests and benchmarks: plausible names, birth dates,
 * genders, national ids and phone numbers, as CSV rows in the documented import columns.
 */

/** mulberry32: a small seeded PRNG, so a seed always gives the same population. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FEMALE = [
  'Amina',
  'Grace',
  'Wanjiru',
  'Akinyi',
  'Fatuma',
  'Mary',
  'Achieng',
  'Nafula',
  'Zawadi',
  'Halima',
  'Esther',
  'Naliaka',
  'Mwanaisha',
  'Chebet',
  'Njeri',
  'Faith',
  'Auma',
  'Rehema',
  'Joy',
  'Khadija',
];
const MALE = [
  'John',
  'Otieno',
  'Kamau',
  'Mohamed',
  'Peter',
  'Kiprono',
  'Juma',
  'Ochieng',
  'David',
  'Hassan',
  'Mwangi',
  'Wafula',
  'Joseph',
  'Baraka',
  'Omondi',
  'Kibet',
  'Ali',
  'Samuel',
  'Onyango',
  'Musa',
];
const FAMILY = [
  'Otieno',
  'Kamau',
  'Wanjiku',
  'Mohamed',
  'Odhiambo',
  'Mwangi',
  'Kiprotich',
  'Achieng',
  'Njoroge',
  'Hassan',
  'Wafula',
  'Chebet',
  'Omondi',
  'Ali',
  'Kariuki',
  'Mutua',
  'Barasa',
  'Owino',
  'Kimani',
  'Abdi',
];
export const CITIES = [
  'Nairobi',
  'Mombasa',
  'Kisumu',
  'Nakuru',
  'Eldoret',
  'Garissa',
  'Kakamega',
  'Machakos',
];

export const PERSON_COLUMNS = [
  'full_name',
  'given_name',
  'family_name',
  'date_of_birth',
  'gender',
  'identity_type',
  'identity_number',
  'phone',
  'address_city',
] as const;

export interface SyntheticPerson {
  given: string;
  family: string;
  dateOfBirth: string;
  gender: '1' | '2';
  nationalId: string;
  phone: string;
  city: string;
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Person number `i` of the population of `seed` (ids are unique per seed and index). */
export function syntheticPerson(
  rnd: () => number,
  i: number,
  seed: number,
  opts: { minAge?: number; maxAge?: number; gender?: '1' | '2'; family?: string } = {},
): SyntheticPerson {
  const gender = opts.gender ?? (rnd() < 0.5 ? '1' : '2');
  const minAge = opts.minAge ?? 0;
  const maxAge = opts.maxAge ?? 90;
  const age = minAge + Math.floor(rnd() * (maxAge - minAge + 1));
  const year = new Date().getUTCFullYear() - age - 1;
  return {
    given: pick(rnd, gender === '2' ? FEMALE : MALE),
    family: opts.family ?? pick(rnd, FAMILY),
    dateOfBirth: `${year}-${pad(1 + Math.floor(rnd() * 12), 2)}-${pad(1 + Math.floor(rnd() * 28), 2)}`,
    gender,
    nationalId: `${pad(seed % 1000, 3)}${pad(i, 9)}`,
    phone: `+2547${pad(Math.floor(rnd() * 100_000_000), 8)}`,
    city: pick(rnd, CITIES),
  };
}

export function personCsvRow(p: SyntheticPerson): string {
  return [
    `${p.given} ${p.family}`,
    p.given,
    p.family,
    p.dateOfBirth,
    p.gender,
    'national_id',
    p.nationalId,
    p.phone,
    p.city,
  ].join(',');
}

/** A CSV of n persons, produced in pieces (never the whole file in memory). */
export async function* personsCsv(n: number, seed = 1, start = 0): AsyncGenerator<string> {
  const rnd = prng(seed);
  yield `${PERSON_COLUMNS.join(',')}\n`;
  let batch: string[] = [];
  for (let i = start; i < start + n; i++) {
    batch.push(personCsvRow(syntheticPerson(rnd, i, seed)));
    if (batch.length === 5_000) {
      yield `${batch.join('\n')}\n`;
      batch = [];
    }
  }
  if (batch.length > 0) yield `${batch.join('\n')}\n`;
}
