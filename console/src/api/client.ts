import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../../client/index';

/** A problem+json error body (RFC 9457) as every Hearth route answers it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  correlation_id?: string;
  errors?: { field: string; message: string; code?: string }[];
}

let csrfToken: string | null = null;
const expiryListeners = new Set<() => void>();

/** Remembered from the session body; sent on every state-changing request. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request made with a session comes back 401: the session expired or was revoked. */
export function onSessionExpired(listener: () => void): () => void {
  expiryListeners.add(listener);
  return () => expiryListeners.delete(listener);
}

// The one place the browser session is attached: the cookie goes with every same-origin request,
// the CSRF token with every request that is not a read.
const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) {
      request.headers.set('X-CSRF-Token', csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && csrfToken && !path.startsWith('/auth/')) {
      csrfToken = null;
      for (const listener of expiryListeners) listener();
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: 'same-origin',
});
api.use(sessionMiddleware);

/** Throws the problem body of a failed call so react-query and forms see it. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok)
    throw new ApiError(result.response.status, result.error);
  return result.data as T;
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(
    readonly status: number,
    body: unknown,
  ) {
    const problem = (body && typeof body === 'object' ? body : {}) as Problem;
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.problem = problem;
  }

  /** Validation messages by field name, for showing next to form inputs. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) {
      const field = e.field.replace(/^\/?(body[./])?/, '').replace(/\//g, '.');
      out[field] ??= e.message;
    }
    return out;
  }
}
