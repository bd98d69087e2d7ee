import type { CookieSerializeOptions } from '@fastify/cookie';
import type { SessionConfig } from '../config.js';

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
 * sub-requests; a top-level navigation back from the identity provider still carries it), Path=/,
 * Secure outside local development.
 */
export function sessionCookieOptions(config: SessionConfig): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: config.cookieSecure };
}
