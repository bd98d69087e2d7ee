/** What one delivery attempt came to. */
export interface AttemptOutcome {
  /** HTTP status, or null when no answer came (timeout, refused, TLS error…). */
  statusCode: number | null;
  error: string | null;
  /** The first bytes of the answer (at most EXCERPT_BYTES), as text. */
  excerpt: string | null;
  durationMs: number;
}

const EXCERPT_BYTES = 1024;

/** Reads at most `max` bytes of a body, then drops the rest of the stream. */
async function readCapped(res: Response, max: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max);
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message;
    return detail ? `${err.message}: ${detail}` : err.message;
  }
  return String(err);
}

/**
 * POSTs one delivery with the built-in fetch: one timeout for the whole exchange (connection to
 * last byte read), redirects are not followed (a 3xx is a failed attempt: following it would
 * bypass the target checks), and the answer is read up to `maxBytes`.
 */
export async function postDelivery(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; maxBytes: number },
): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    let excerpt: string | null = null;
    try {
      const answer = await readCapped(res, options.maxBytes);
      excerpt = answer.subarray(0, EXCERPT_BYTES).toString('utf8');
    } catch (err) {
      return {
        statusCode: res.status,
        error: `reading the answer: ${describe(err)}`,
        excerpt,
        durationMs: elapsed(),
      };
    }
    const ok = res.status >= 200 && res.status < 300;
    return {
      statusCode: res.status,
      error: ok ? null : `receiver answered ${res.status}`,
      excerpt,
      durationMs: elapsed(),
    };
  } catch (err) {
    return { statusCode: null, error: describe(err), excerpt: null, durationMs: elapsed() };
  }
}
