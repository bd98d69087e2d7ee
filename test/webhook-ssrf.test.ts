import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postDelivery } from '../src/webhooks/http-client.js';
import { checkTarget, isBlockedAddress, type Resolver } from '../src/webhooks/target-url.js';

// The DNS rebinding window (docs/decisions/0046): the addresses an attempt connects to are the
// ones that were checked. Real receivers on 127.0.0.1; names answered by injected resolvers.

const PUBLIC = '93.184.215.14';

/** Answers `first` to the first question and `then` to every later one (a rebinding name server). */
function rebinding(first: string, then: string): Resolver & { asked: number } {
  const r = Object.assign(
    async () => {
      r.asked++;
      return [{ address: r.asked === 1 ? first : then, family: 4 }];
    },
    { asked: 0 },
  );
  return r;
}
const answers =
  (...list: { address: string; family: number }[]): Resolver =>
  async () =>
    list;

// ---- a plain receiver and a TLS receiver (certificate for hook.test), counting every TCP connection ----

let plain: http.Server;
let plainPort = 0;
let plainConnections = 0;
const plainRequests: string[] = [];

let secure: https.Server | null = null;
let securePort = 0;
let secureConnections = 0;
const secureRequests: string[] = [];
const serverNames: string[] = [];

/** A self-signed certificate for `name` (openssl), or null where openssl is missing. */
function selfSigned(name: string): { key: string; cert: string } | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  } catch {
    return null;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const tlsMaterial = selfSigned('hook.test');

const listen = (server: http.Server | https.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

beforeAll(async () => {
  plain = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      plainRequests.push(req.url ?? '/');
      if (req.url === '/redirect') return res.writeHead(302, { location: '/elsewhere' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  plain.on('connection', () => plainConnections++);
  plainPort = await listen(plain);
  if (tlsMaterial) {
    secure = https.createServer(
      {
        ...tlsMaterial,
        SNICallback: (name, cb) => {
          serverNames.push(name);
          cb(null, undefined);
        },
      },
      (req, res) => {
        secureRequests.push(req.url ?? '/');
        res.writeHead(200).end('ok');
      },
    );
    secure.on('connection', () => secureConnections++);
    securePort = await listen(secure);
  }
});
afterAll(async () => {
  await new Promise((r) => plain?.close(r));
  if (secure) await new Promise((r) => secure?.close(r));
});

const post = (url: string, allowInsecure: boolean, resolve?: Resolver, timeoutMs = 3000) =>
  postDelivery(url, { 'content-type': 'application/json' }, '{}', {
    timeoutMs,
    maxBytes: 1024,
    allowInsecure,
    resolve,
  });

describe('the address blocklist', () => {
  it('refuses inward and reserved ranges and lets public IPv4 and IPv6 addresses through', () => {
    // Regression: a single BlockList with ::ffff:0:0/96 matched every IPv4 address (mapped).
    for (const address of ['8.8.8.8', PUBLIC, '1.1.1.1', '172.32.0.1', '100.63.255.255', '2606:4700::1111']) {
      expect(isBlockedAddress(address), address).toBe(false);
    }
    for (const address of [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.169.254',
      '172.31.255.255',
      '192.168.1.1',
      '198.18.0.1',
      '203.0.113.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002::1',
      '2001:db8::1',
      'fd12::1',
      'fe80::1',
      'ff02::1',
      'not-an-address',
    ]) {
      expect(isBlockedAddress(address), address).toBe(true);
    }
  });
});

describe('webhook connections use the checked address (DNS rebinding)', () => {
  it('a name answering a public address to the check and 127.0.0.1 to the connection is refused as it connects', async () => {
    const dns = rebinding(PUBLIC, '127.0.0.1');
    const url = `https://hook.rebind.test:${securePort || plainPort}/hook`;
    // The subscription-time check sees the public answer and lets the target through…
    await expect(checkTarget(url, false, dns)).resolves.toBeInstanceOf(URL);
    const before = { plain: plainConnections, secure: secureConnections };
    // …the attempt resolves again, gets 127.0.0.1, and refuses to connect to it.
    const outcome = await post(url, false, dns);
    expect(dns.asked).toBe(2);
    expect(outcome).toMatchObject({
      statusCode: null,
      error: 'target refused: hook.rebind.test resolves to a loopback, private or reserved address',
      excerpt: null,
    });
    expect({ plain: plainConnections, secure: secureConnections }).toEqual(before);
    expect(secureRequests).toHaveLength(0);
  });

  it('a name resolving to 127.0.0.1 is refused at connection time; with the insecure flag the socket goes to that very answer', async () => {
    const loopback = answers({ address: '127.0.0.1', family: 4 });
    const url = `http://hook.pinned.test:${plainPort}/pinned`;
    const connections = plainConnections;
    const refused = await post(url, false, loopback);
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatch(/^target refused: hook\.pinned\.test resolves to a loopback/);
    expect(plainConnections).toBe(connections);
    expect(plainRequests).not.toContain('/pinned');
    // hook.pinned.test does not exist in any DNS: reaching the receiver proves the connection
    // used the injected (checked) answer and did not resolve the name again.
    const allowed = await post(url, true, loopback);
    expect(allowed).toMatchObject({ statusCode: 200, error: null, excerpt: 'ok' });
    expect(plainRequests.filter((p) => p === '/pinned')).toHaveLength(1);
  });

  it('localhost through the system resolver, address literals and mixed answers are refused without a connection', async () => {
    const connections = plainConnections;
    const localhost = await post(`http://localhost:${plainPort}/localhost`, false);
    expect(localhost.error).toMatch(/^target refused: localhost resolves to a loopback/);
    for (const literal of [`http://127.0.0.1:${plainPort}/literal`, `http://[::1]:${plainPort}/literal`]) {
      const o = await post(literal, false);
      expect(o, literal).toMatchObject({
        statusCode: null,
        error: 'target refused: points to a loopback, private or reserved address',
      });
    }
    const mixed = await post(
      `http://hook.mixed.test:${plainPort}/mixed`,
      false,
      answers({ address: PUBLIC, family: 4 }, { address: '10.0.0.7', family: 4 }),
    );
    expect(mixed.error).toMatch(/^target refused: hook\.mixed\.test resolves to a loopback/);
    const mapped = await post(
      `http://hook.v6.test:${plainPort}/v6`,
      false,
      answers({ address: '::ffff:127.0.0.1', family: 6 }),
    );
    expect(mapped.error).toMatch(/^target refused: hook\.v6\.test resolves to a loopback/);
    const nothing = await post(`http://hook.none.test:${plainPort}/none`, false, answers());
    expect(nothing.error).toBe('target refused: hook.none.test does not resolve');
    expect(plainConnections).toBe(connections);
    expect(plainRequests.filter((p) => p !== '/pinned')).toHaveLength(0);
  });

  it.skipIf(!tlsMaterial)(
    'TLS is verified for the name (SNI hook.test) while the socket uses the pinned address',
    async () => {
      const outcome = await post(
        `https://hook.test:${securePort}/tls`,
        true,
        answers({ address: '127.0.0.1', family: 4 }),
      );
      expect(serverNames).toContain('hook.test');
      // The certificate is self-signed: verification stays on, so the attempt fails before any request.
      expect(outcome.statusCode).toBeNull();
      expect(outcome.error).toMatch(
        /^request failed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/,
      );
      expect(secureRequests).toHaveLength(0);
    },
  );

  it('the one timeout covers name resolution, and 3xx answers are still not followed', async () => {
    const stuck: Resolver = () => new Promise(() => {});
    const started = Date.now();
    const hung = await post(`http://hook.slow.test:${plainPort}/slow`, false, stuck, 200);
    expect(hung).toMatchObject({ statusCode: null, error: 'timed out' });
    expect(Date.now() - started).toBeLessThan(2000);
    const moved = await post(
      `http://hook.moved.test:${plainPort}/redirect`,
      true,
      answers({ address: '127.0.0.1', family: 4 }),
    );
    expect(moved).toMatchObject({ statusCode: 302, error: 'receiver answered 302' });
    expect(plainRequests).not.toContain('/elsewhere');
  });
});
