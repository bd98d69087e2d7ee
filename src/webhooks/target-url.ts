import { promises as dns } from 'node:dns';
import net from 'node:net';

/**
 * Webhook targets must not reach the server's own network (SSRF): https only, no credentials in
 * the URL, and no loopback, private, link-local, shared, documentation, multicast or reserved
 * address, checked on every address the name resolves to, at subscription time and again before
 * every attempt (docs/decisions/0042-webhook-targets.md). `allowInsecure` (development and tests)
 * lifts all of it except the URL syntax.
 */

// Two lists: a BlockList checks an IPv4 address against its IPv6 rules too (as ::ffff:a.b.c.d),
// so one list holding ::ffff:0:0/96 would refuse every IPv4 address, public ones included.
const BLOCKED_V4 = new net.BlockList();
const BLOCKED_V6 = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED_V4.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  // IPv4-mapped, NAT64 and 6to4 addresses embed an IPv4 address: refused as a whole.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED_V6.addSubnet(prefix, bits, 'ipv6');
}

/** Why a target is refused; `field` is always target_url. */
export class TargetRefused extends Error {}

export function isBlockedAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  return family === 4 ? BLOCKED_V4.check(address, 'ipv4') : BLOCKED_V6.check(address, 'ipv6');
}

const RESOLVE_TIMEOUT_MS = 5_000;

async function resolveAll(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TargetRefused(`${host} did not resolve in time`)),
      RESOLVE_TIMEOUT_MS,
    );
  });
  try {
    const found = await Promise.race([dns.lookup(host, { all: true, verbatim: true }), timeout]);
    return found.map((a) => a.address);
  } catch (err) {
    if (err instanceof TargetRefused) throw err;
    throw new TargetRefused(`${host} does not resolve`);
  } finally {
    clearTimeout(timer);
  }
}

/** Parses and checks the URL's form (no network): returns it normalised. */
export function parseTargetUrl(raw: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('is not an absolute URL');
  }
  const protocols = allowInsecure ? ['https:', 'http:'] : ['https:'];
  if (!protocols.includes(url.protocol)) throw new TargetRefused('must use https');
  if (url.username || url.password) throw new TargetRefused('must not carry credentials');
  if (url.hash) throw new TargetRefused('must not carry a fragment');
  if (allowInsecure) return url;
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (net.isIP(host)) {
    if (isBlockedAddress(host)) throw new TargetRefused('points to a loopback, private or reserved address');
    return url;
  }
  if (
    !host.includes('.') ||
    host === 'localhost' ||
    /\.(localhost|local|internal|localdomain|home\.arpa)$/.test(host)
  ) {
    throw new TargetRefused('must name a public host');
  }
  return url;
}

/**
 * The full check: form, then every resolved address. Called when a subscription is created or
 * changed and before every delivery attempt, so a name that later resolves inward is refused.
 */
export async function checkTarget(raw: string, allowInsecure: boolean): Promise<URL> {
  const url = parseTargetUrl(raw, allowInsecure);
  if (allowInsecure) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (net.isIP(host)) return url;
  const addresses = await resolveAll(host);
  if (addresses.length === 0) throw new TargetRefused(`${host} does not resolve`);
  if (addresses.some(isBlockedAddress)) {
    throw new TargetRefused(`${host} resolves to a loopback, private or reserved address`);
  }
  return url;
}
