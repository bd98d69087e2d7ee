import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isBlockedAddress, pinnedLookup, type Resolver, TargetRefused } from './target-url.js';

/** What one delivery attempt came to. */
export interface AttemptOutcome {
  /** HTTP status, or null when no answer came (timeout, refused, TLS error…). */
  statusCode: number | null;
  error: string | null;
  /** The first bytes of the answer (at most EXCERPT_BYTES), as text. */
  excerpt: string | null;
  durationMs: number;
}

export interface PostOptions {
  /** One timeout for the whole exchange: name resolution, connection, TLS, request, answer. */
  timeoutMs: number;
  /** Bytes of the answer read at most; the rest is dropped with the connection. */
  maxBytes: number;
  /**
   * The address rule applied as the socket connects (pinnedLookup): false refuses loopback,
   * private and reserved addresses, true allows them (development and tests). Omitted: no address
   * check at connection time (the caller's own checkTarget is then the only one) — kept for callers
   * that do not pass it yet; webhook deliveries always do.
   */
  allowInsecure?: boolean;
  /** Name resolution (tests inject answers); default: the system resolver. */
  resolve?: Resolver;
}

const EXCERPT_BYTES = 1024;

class AttemptTimeout extends Error {
  constructor() {
    super('timed out');
    this.name = 'TimeoutError';
  }
}

function describe(err: unknown): string {
  if (err instanceof TargetRefused) return `target refused: ${err.message}`;
  if (err instanceof AttemptTimeout) return 'timed out';
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `request failed: ${code}` : err.message;
  }
  return String(err);
}

/**
 * POSTs one delivery with node:http / node:https: one timeout for the whole exchange (resolution
 * to last byte read), redirects are not followed (a 3xx is a failed attempt: following it would
 * bypass the target checks), and the answer is read up to `maxBytes`. The name is resolved once,
 * by pinnedLookup, which checks the addresses and hands those same addresses to the socket, so a
 * DNS answer cannot change between the check and the connection; TLS verifies the certificate
 * (and sends SNI) for the name. A fresh connection per attempt (no pooled socket from elsewhere).
 * Never throws.
 */
export function postDelivery(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (o: Omit<AttemptOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve({ ...o, durationMs: elapsed() });
    };
    const failed = (err: unknown) => finish({ statusCode: null, error: describe(err), excerpt: null });

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      failed(new Error('invalid URL'));
      return;
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      failed(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    // An address literal never goes through `lookup`: check it here.
    if (net.isIP(host) && options.allowInsecure === false && isBlockedAddress(host)) {
      failed(new TargetRefused('points to a loopback, private or reserved address'));
      return;
    }

    // Set by the answer: how a failure while reading it is reported.
    let answering: ((err: unknown) => void) | null = null;
    timer = setTimeout(() => (answering ?? failed)(new AttemptTimeout()), options.timeoutMs);
    try {
      req = (target.protocol === 'https:' ? https : http).request({
        method: 'POST',
        hostname: host,
        port: target.port || undefined,
        path: `${target.pathname}${target.search}`,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // Our own connection every time: a pooled socket could have been opened without the check.
        agent: false,
        lookup: pinnedLookup(options.allowInsecure ?? true, options.resolve),
      });
    } catch (err) {
      failed(err); // e.g. a header value with forbidden characters
      return;
    }
    req.on('error', (err) => (answering ?? failed)(err));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const excerpt = Buffer.concat(chunks).subarray(0, Math.min(options.maxBytes, EXCERPT_BYTES));
        const ok = status >= 200 && status < 300;
        finish({
          statusCode: status,
          error: ok ? null : `receiver answered ${status}`,
          excerpt: excerpt.toString('utf8'),
        });
      };
      answering = (err) =>
        finish({
          statusCode: status,
          error: `reading the answer: ${describe(err)}`,
          excerpt: Buffer.concat(chunks)
            .subarray(0, Math.min(options.maxBytes, EXCERPT_BYTES))
            .toString('utf8'),
        });
      if (options.maxBytes <= 0) {
        done();
        return;
      }
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= options.maxBytes) done();
      });
      res.on('end', done);
      res.on('error', (err) => answering?.(err));
      res.on('close', () => {
        if (!res.complete) answering?.(new Error('the connection closed before the end of the answer'));
      });
    });
    req.end(body);
  });
}
