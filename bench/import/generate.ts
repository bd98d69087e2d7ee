import { once } from 'node:events';
import fs from 'node:fs';
import { personsCsv } from '../../src/imports/synthetic.js';

/** Writes a CSV of n synthetic persons (streamed) and returns its size in bytes. */
export async function writePersonsCsv(file: string, n: number, seed: number): Promise<number> {
  const out = fs.createWriteStream(file);
  for await (const part of personsCsv(n, seed)) {
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return fs.statSync(file).size;
}

/** The raw baseline table: the CSV's columns, typed, no index, no constraint. */
export const RAW_TABLE = `CREATE TABLE raw_persons (
  full_name text, given_name text, family_name text, date_of_birth date, gender text,
  identity_type text, identity_number text, phone text, address_city text)`;
