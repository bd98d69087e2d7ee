import { promises as dns } from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Webhook targets must not reach the server's own network (SSRF): https only, no credentials in
 * the URL, and no loopback, private, link-local, shared, documentation, multicast or reserved
 * address, checked on every address the name resolves to, at subscription time and again when
 * every attempt connects, on the very addresses the socket uses (docs/decisions/0042-webhook-targets.md,
 * 0046). `allowInsecure` (development and tests) lifts all of it except the URL syntax.
 */

// Global unicast IPv6 (2000::/3) is the only IPv6 space a public server lives in; everything
// outside it — IPv4-compatible ::/96, IPv4-mapped and -translated, NAT64 64:ff9b::/96 and /48,
// unique-local, site-local, link-local, multicast, discard — is refused without naming each.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
// Inside it, the IETF protocol assignments (Teredo, benchmarking, ORCHID…), documentation and
// 6to4 (which embeds an IPv4 address) are refused too.
const SPECIAL_V6 = ['2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20', '5f00::/16'].map((c) =>
  ipaddr.parseCIDR(c),
);

/**
 * Whether a webhook or callback may not connect to this address: anything ipaddr.js does not
 * class as plain unicast (loopback, private, carrier-grade NAT, link-local, reserved,
 * documentation, benchmarking, multicast, broadcast…), and for IPv6 anything outside global
 * unicast or in its special ranges. Checked on the parsed address, so every textual form
 * (`::127.0.0.1`, `::ffff:0:7f00:1`, `0:0:0:0:0:ffff:7f00:1`) is judged by what it is.
 */
export function isBlockedAddress(address: string): boolean {
  // Only the standard textual forms: ipaddr.js would also read '127.1' or '0x7f.0.0.1'.
  if (net.isIP(address) === 0) return true;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return true;
  }
  if (parsed.range() !== 'unicast') return true;
  if (parsed.kind() === 'ipv4') return false;
  const v6 = parsed as ipaddr.IPv6;
  if (v6.zoneId) return true;
  if (!v6.match(GLOBAL_UNICAST_V6)) return true;
  return SPECIAL_V6.some((range) => v6.match(range));
}

/** Why a target is refused; `field` is always target_url. */
export class TargetRefused extends Error {}

const RESOLVE_TIMEOUT_MS = 5_000;

/** Resolves a name to all its addresses (tests inject their own answers). */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

async function resolveAll(
  host: string,
  resolve: Resolver = systemResolver,
): Promise<{ address: string; family: number }[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TargetRefused(`${host} did not resolve in time`)),
      RESOLVE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([resolve(host), timeout]);
  } catch (err) {
    if (err instanceof TargetRefused) throw err;
    throw new TargetRefused(`${host} does not resolve`);
  } finally {
    clearTimeout(timer);
  }
}

/** Every address of `host`, refused when there is none or one of them is blocked (unless allowInsecure). */
async function checkedAddresses(
  host: string,
  allowInsecure: boolean,
  resolve: Resolver = systemResolver,
): Promise<{ address: string; family: number }[]> {
  const found = await resolveAll(host, resolve);
  if (found.length === 0) throw new TargetRefused(`${host} does not resolve`);
  if (!allowInsecure && found.some((a) => isBlockedAddress(a.address))) {
    throw new TargetRefused(`${host} resolves to a loopback, private or reserved address`);
  }
  return found;
}

/**
 * A `lookup` for node:net / node:http / node:https that closes the DNS rebinding window: it
 * resolves the name, refuses it when any address is blocked (unless allowInsecure), and hands
 * exactly the addresses it checked to the socket, so the check and the connection use the same
 * answer (docs/decisions/0046-webhook-connection-pinning-and-retention.md). TLS still verifies the
 * certificate against the name (the request keeps `hostname`; only the address comes from here).
 */
export function pinnedLookup(allowInsecure: boolean, resolve: Resolver = systemResolver): net.LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, allowInsecure, resolve).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted ? found.filter((a) => a.family === wanted) : found;
        if (usable.length === 0) {
          callback(new TargetRefused(`${hostname} has no IPv${wanted} address`), '', 0);
        } else if (options.all) {
          callback(null, usable);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (err: Error) => callback(err, '', 0),
    );
  };
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
 * changed (and by DCI before its callbacks). Webhook attempts check the form with parseTargetUrl
 * and the addresses in pinnedLookup, as they connect.
 */
export async function checkTarget(
  raw: string,
  allowInsecure: boolean,
  resolve: Resolver = systemResolver,
): Promise<URL> {
  const url = parseTargetUrl(raw, allowInsecure);
  if (allowInsecure) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (net.isIP(host)) return url;
  await checkedAddresses(host, false, resolve);
  return url;
}
