import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBlockedAddress, parseTargetUrl } from '../src/webhooks/target-url.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { idQuery, searchEnvelope, searchItem } from './helpers/dci-client.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

/** Every reserved or inward range (IANA special-purpose registries), with addresses inside it. */
const BLOCKED: [range: string, addresses: string[]][] = [
  ['0.0.0.0/8 this network', ['0.0.0.0', '0.255.255.255']],
  ['10.0.0.0/8 private', ['10.0.0.1', '10.255.255.254']],
  ['100.64.0.0/10 shared (CGN)', ['100.64.0.1', '100.127.255.254']],
  ['127.0.0.0/8 loopback', ['127.0.0.1', '127.255.255.254']],
  ['169.254.0.0/16 link-local (cloud metadata)', ['169.254.169.254']],
  ['172.16.0.0/12 private', ['172.16.0.1', '172.31.255.254']],
  ['192.0.0.0/24 IETF assignments', ['192.0.0.8']],
  ['192.0.2.0/24 TEST-NET-1', ['192.0.2.1']],
  ['192.88.99.0/24 6to4 relay', ['192.88.99.1']],
  ['192.168.0.0/16 private', ['192.168.1.1']],
  ['198.18.0.0/15 benchmarking', ['198.18.0.1', '198.19.255.254']],
  ['198.51.100.0/24 TEST-NET-2', ['198.51.100.1']],
  ['203.0.113.0/24 TEST-NET-3', ['203.0.113.1']],
  ['224.0.0.0/4 multicast', ['224.0.0.1', '239.255.255.255']],
  ['240.0.0.0/4 reserved', ['240.0.0.1']],
  ['255.255.255.255 broadcast', ['255.255.255.255']],
  ['::/128 unspecified', ['::']],
  ['::1/128 loopback', ['::1', '0:0:0:0:0:0:0:1']],
  ['::/96 IPv4-compatible', ['::127.0.0.1', '::7f00:1', '::8.8.8.8', '::a00:1']],
  [
    '::ffff:0:0/96 IPv4-mapped',
    ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::ffff:8.8.8.8'],
  ],
  ['::ffff:0:0:0/96 IPv4-translated', ['::ffff:0:7f00:1', '::ffff:0:127.0.0.1', '::ffff:0:808:808']],
  ['64:ff9b::/96 NAT64', ['64:ff9b::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::808:808']],
  ['64:ff9b:1::/48 local-use NAT64', ['64:ff9b:1::7f00:1']],
  ['100::/64 discard', ['100::1']],
  ['2001::/32 Teredo', ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1']],
  ['2001::/23 IETF protocol assignments', ['2001:2::1', '2001:10::1', '2001:1ff::1']],
  ['2001:db8::/32 documentation', ['2001:db8::1']],
  ['2002::/16 6to4', ['2002:7f00:1::1', '2002:808:808::1']],
  ['3fff::/20 documentation', ['3fff::1']],
  ['5f00::/16 segment routing', ['5f00::1']],
  ['fc00::/7 unique local', ['fc00::1', 'fd12:3456::1']],
  ['fe80::/10 link-local', ['fe80::1', 'fe80::1%eth0']],
  ['fec0::/10 site-local (deprecated)', ['fec0::1', 'feff::1']],
  ['ff00::/8 multicast', ['ff02::1', 'ff05::1:3']],
  ['4000::/3 and beyond unassigned', ['4000::1', 'e000::1']],
  ['not an address', ['not-an-address', '127.1', '0x7f.0.0.1', '']],
];

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '172.32.0.1',
  '100.63.255.255',
  '2606:4700::1111',
  '2a00:1450::1',
];

describe('IP checks on parsed addresses (ipaddr.js)', () => {
  for (const [range, addresses] of BLOCKED) {
    it(`refuses ${range}`, () => {
      for (const address of addresses) expect(isBlockedAddress(address), address).toBe(true);
    });
  }

  it('lets public IPv4 and IPv6 addresses through', () => {
    for (const address of PUBLIC) expect(isBlockedAddress(address), address).toBe(false);
  });

  it('refuses every IPv4-embedding URL form as a target', () => {
    for (const url of [
      'https://[::127.0.0.1]/',
      'https://[::ffff:0:7f00:1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[64:ff9b::7f00:1]/',
      'https://[2002:7f00:1::1]/',
      'https://[2001::1]/',
      'https://[fec0::1]/',
      'https://2130706433/',
      'https://0x7f.1/',
    ]) {
      expect(() => parseTargetUrl(url, false), url).toThrow();
    }
    expect(parseTargetUrl('https://[2606:4700::1111]/hook', false).hostname).toBe('[2606:4700::1111]');
  });
});

describe('the same rule on every surface: webhooks, DCI sender callbacks, DCI sender_uri', () => {
  let t: TestApp;
  let a: TestTenant;

  beforeAll(async () => {
    t = await createTestApp({ HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'false' });
    a = await createTestTenant(t);
  });
  afterAll(() => t?.close());

  it('a DCI sender callback_url and a DCI header.sender_uri in IPv4-embedding IPv6 form are refused', async () => {
    const dci = await a.client({ roles: ['integration'], scopes: ['dci:search'], name: 'ssrf-sender' });
    for (const url of ['https://[::127.0.0.1]/cb', 'https://[::ffff:0:7f00:1]/cb']) {
      const sender = await call(t.app, a.admin.token, 'PUT', `/api/v1/dci/senders/${dci.clientId}`, {
        sender_id: 'ssrf.example.org',
        callback_url: url,
      });
      expect(sender.statusCode, sender.body).toBe(422);
      expect(sender.json().errors[0].field).toBe('callback_url');

      const envelope = searchEnvelope([searchItem(idQuery('UIN', '123'))], { sender_uri: url });
      const search = await call(t.app, dci.token, 'POST', '/dci/registry/search', envelope);
      expect(search.statusCode, search.body).toBe(400);
      expect(JSON.stringify(search.json().errors)).toContain('header.sender_uri');
    }
  });

  it('a webhook target in IPv4-embedding IPv6 form is refused', async () => {
    // The target is judged before the integration is looked up: any integration id shows it.
    const url = `/api/v1/integrations/${randomUUID()}/webhooks`;
    for (const target of ['https://[::127.0.0.1]/hook', 'https://[::ffff:0:7f00:1]/hook']) {
      const res = await call(t.app, a.admin.token, 'POST', url, {
        target_url: target,
        event_types: ['person.created'],
        active_from: new Date().toISOString(),
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().errors[0].field).toBe('target_url');
    }
  });
});
