import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_SCOPES, ROLES, SCOPES } from '../src/auth/scopes.js';
import { createTestApp, type TestApp } from './helpers/app.js';

/**
 * The OpenAPI document as integrators get it: linted with the repository's Redocly config (any
 * error or warning fails, with the rule and the place), and checked for what the lint does not
 * know: operation ids, who may call, scopes from the routes' own declarations, examples that
 * match their schemas, the size budget.
 */

const run = promisify(execFile);
const PUBLIC_URL = 'https://hearth.example.org';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

// biome-ignore lint/suspicious/noExplicitAny: the document is walked and checked by the assertions
type Json = Record<string, any>;
let t: TestApp;
let doc: Json;
let served: string;

function operations(): [string, string, Json][] {
  const out: [string, string, Json][] = [];
  for (const [p, item] of Object.entries(doc.paths as Json)) {
    for (const m of METHODS) if (item[m]) out.push([p, m, item[m]]);
  }
  return out;
}

/** A response, following a `$ref` into components.responses. */
function resolveResponse(response: Json): Json {
  if (typeof response.$ref !== 'string') return response;
  return doc.components.responses[response.$ref.split('/').pop() as string];
}

beforeAll(async () => {
  t = await createTestApp({ HEARTH_PUBLIC_URL: PUBLIC_URL });
  const res = await t.app.inject({ url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  served = res.body;
  doc = res.json();
});
afterAll(async () => t?.close());

describe('OpenAPI document', () => {
  it('passes the Redocly lint of redocly.yaml with no error and no warning', async () => {
    // The served document is linted as client/openapi.json of a copy of the lint setup, so the
    // documented exceptions of .redocly.lint-ignore.yaml apply to it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-openapi-'));
    fs.mkdirSync(path.join(dir, 'client'));
    fs.writeFileSync(path.join(dir, 'client', 'openapi.json'), served);
    fs.copyFileSync('redocly.yaml', path.join(dir, 'redocly.yaml'));
    fs.copyFileSync('.redocly.lint-ignore.yaml', path.join(dir, '.redocly.lint-ignore.yaml'));
    const cli = path.resolve('node_modules/@redocly/cli/bin/cli.js');
    const { stdout } = await run(process.execPath, [cli, 'lint', 'client/openapi.json', '--format=json'], {
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    fs.rmSync(dir, { recursive: true, force: true });
    const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
    const problems = (report.problems as Json[]).map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`,
    );
    // Each line names the rule and the JSON pointer of what to fix (route schema, tag, example…).
    expect(problems).toEqual([]);
  }, 60_000);

  it('stays under 400 KB and names the public URL as its server', () => {
    expect(
      Buffer.byteLength(served),
      'over budget: name a reused schema in src/openapi/components.ts, or shorten route descriptions',
    ).toBeLessThan(400 * 1024);
    expect(doc.servers).toEqual([expect.objectContaining({ url: PUBLIC_URL })]);
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toBe(
      `${PUBLIC_URL}/oauth/token`,
    );
  });

  it('names its reused schemas and refers to them', () => {
    for (const name of [
      'Person',
      'PersonCreate',
      'Household',
      'Consent',
      'Problem',
      'IntegrationPage',
      'DciEnvelope',
      'V2Individual',
      'G2pIndividual',
      'G2pError',
    ]) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
    const getPerson = doc.paths['/api/v1/persons/{person_id}'].get;
    expect(getPerson.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Person',
    });
    expect(served.split('"$ref":"#/components/schemas/Problem"').length).toBeGreaterThan(10);
  });

  it('gives every operation a unique operationId, a tag, a description saying who may call, and security from the route', () => {
    const ids = new Set<string>();
    const declared = new Map(
      t.app.hearth.routes.map((r) => [
        `${r.method.toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`,
        r.auth,
      ]),
    );
    for (const [p, m, op] of operations()) {
      const where = `${m.toUpperCase()} ${p}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(ids.has(op.operationId), `${where}: operationId ${op.operationId} is used twice`).toBe(false);
      ids.add(op.operationId);
      expect(op.tags?.length, where).toBeGreaterThan(0);
      expect(op.description, where).toContain('**Who may call:**');
      const auth = declared.get(`${m} ${p}`);
      if (!auth || auth.public) {
        expect(op.security, where).toEqual([]);
        continue;
      }
      const oauth = (op.security as Json[]).find((s) => s.oauth2);
      expect(oauth?.oauth2, where).toEqual([...(auth.scopes ?? [])]);
      for (const s of auth.scopes ?? []) expect(op.description, where).toContain(`\`${s}\``);
    }
    const described = new Set((doc.tags as Json[]).filter((tag) => tag.description).map((tag) => tag.name));
    for (const [, , op] of operations()) for (const tag of op.tags) expect(described, tag).toContain(tag);
  });

  it('derives the V2 and DCI security from the same declaration, with their own token endpoints', () => {
    const v2 = doc.paths['/api/v2/spp/Individual/{identifier}'];
    const session = { sessionCookie: [] };
    expect(v2.get.security).toEqual([
      { openSppV2: ['individual:read'] },
      { oauth2: ['persons:read'] },
      session,
    ]);
    expect(v2.put.security).toEqual([
      { openSppV2: ['individual:update'] },
      { oauth2: ['persons:write'] },
      session,
    ]);
    expect(doc.paths['/dci/registry/sync/search'].post.security).toEqual([
      { dciOAuth2: ['dci:search'] },
      { oauth2: ['dci:search'] },
      session,
    ]);
    const schemes = doc.components.securitySchemes;
    expect(schemes.openSppV2.flows.clientCredentials.tokenUrl).toBe(`${PUBLIC_URL}/api/v2/spp/oauth/token`);
    expect(schemes.dciOAuth2.flows.clientCredentials.tokenUrl).toBe(`${PUBLIC_URL}/dci/oauth2/client/token`);
    expect(Object.keys(schemes.oauth2.flows.clientCredentials.scopes)).toContain('persons:write');
    expect(doc.paths['/g2p/api/v1/registry/individual'].post.security).toEqual([
      { basicAuth: [] },
      { oauth2: ['persons:write'] },
      session,
    ]);
  });

  it('has a described response with an example that matches its schema, for every body and response', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'https://hearth.test/doc', components: doc.components });
    const pointer = (s: unknown) =>
      JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"https://hearth.test/doc#/components/'));
    // The validator does refuse what does not match (an empty Person).
    expect(ajv.validate(pointer({ $ref: '#/components/schemas/Person' }), {})).toBe(false);
    const failures: string[] = [];
    const check = (where: string, media: Json) => {
      // The media object's own example, else the example its named schema carries.
      const named =
        typeof media.schema?.$ref === 'string'
          ? doc.components.schemas[media.schema.$ref.split('/').pop()]
          : null;
      const examples: unknown[] =
        'example' in media
          ? [media.example]
          : media.examples
            ? Object.values(media.examples as Json).map((e: Json) => e.value)
            : (named?.examples ?? []);
      if (examples.length === 0) {
        failures.push(`${where}: no example`);
        return;
      }
      if (!media.schema || media.schema.format === 'binary') return;
      const validate = ajv.compile(pointer(media.schema));
      for (const example of examples) {
        if (!validate(example)) failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
      }
    };
    for (const [p, m, op] of operations()) {
      const where = `${m.toUpperCase()} ${p}`;
      for (const [type, media] of Object.entries((op.requestBody?.content ?? {}) as Json)) {
        check(`${where} request ${type}`, media);
      }
      for (const [status, ref] of Object.entries(op.responses as Json)) {
        const response = resolveResponse(ref);
        expect(response.description, `${where} ${status}`).not.toBe('Default Response');
        for (const [type, media] of Object.entries((response.content ?? {}) as Json)) {
          check(`${where} ${status} ${type}`, media);
          if (Number(status) >= 400 && 'example' in media && typeof media.example?.status === 'number') {
            expect(media.example.status, `${where} ${status}: the example shows another status`).toBe(
              Number(status),
            );
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('matches the committed client/openapi.json, so the generated client cannot drift', () => {
    // scripts/gen-client.mjs writes the document of an app with this same public URL.
    const current = JSON.parse(served);
    const committed = JSON.parse(fs.readFileSync('client/openapi.json', 'utf8'));
    const differing = [...new Set([...Object.keys(current.paths), ...Object.keys(committed.paths)])].filter(
      (p) => JSON.stringify(current.paths[p]) !== JSON.stringify(committed.paths[p]),
    );
    const same = JSON.stringify(current) === JSON.stringify(committed);
    expect(
      same,
      `client/openapi.json differs from what the server describes (paths: ${differing.slice(0, 5).join(', ') || 'components or info'}): ` +
        'run `npm run gen:client` and commit client/',
    ).toBe(true);
  });

  it('lists every role with its default scopes in the README table', () => {
    const rows = new Map<string, string[]>();
    for (const line of fs.readFileSync('README.md', 'utf8').split('\n')) {
      const m = /^\| `([a-z_]+)` +\|[^|]*\| (.*) \|$/.exec(line);
      if (!m) continue;
      rows.set(
        m[1],
        m[2].trim() === 'every scope' ? [...SCOPES] : [...m[2].matchAll(/`([^`]+)`/g)].map((x) => x[1]),
      );
    }
    for (const role of ROLES) {
      expect(rows.get(role)?.sort(), `README roles table, row ${role}`).toEqual(
        [...ROLE_SCOPES[role]].sort(),
      );
    }
  });

  it('serves person imports at /api/v1/person-imports and keeps the old path working, marked deprecated', async () => {
    expect(doc.paths['/api/v1/person-imports/{import_id}']).toBeDefined();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/persons/imports'))).toEqual([]);
    // Without a token both paths exist and refuse alike; the old one names its successor.
    const id = '0192f0c4-7b1e-7c3a-9d2e-5a1b2c3d4e5f';
    const current = await t.app.inject({ url: `/api/v1/person-imports/${id}` });
    const legacy = await t.app.inject({ url: `/api/v1/persons/imports/${id}` });
    expect(current.statusCode).toBe(401);
    expect(legacy.statusCode).toBe(401);
    expect(current.headers.deprecation).toBeUndefined();
    expect(legacy.headers.deprecation).toBe('true');
    expect(legacy.headers.link).toBe(`</api/v1/person-imports/${id}>; rel="successor-version"`);
  });
});
