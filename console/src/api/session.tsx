import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { SessionBody } from './auth-contract';
import { api, onSessionExpired, setCsrfToken, unwrap } from './client';

interface SessionState {
  session: SessionBody | null;
  loading: boolean;
  /** Set when a request found the session gone (expired, revoked); the sign-in page says so. */
  expired: boolean;
  signIn(username: string, password: string, totp?: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

async function fetchSession(): Promise<SessionBody | null> {
  const res = await api.GET('/auth/session');
  if (res.response.status === 401 || res.response.status === 404) return null;
  return unwrap(res);
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [expired, setExpired] = useState(false);
  const query = useQuery({
    queryKey: ['session'],
    queryFn: fetchSession,
    staleTime: Number.POSITIVE_INFINITY,
  });
  const session = query.data ?? null;
  setCsrfToken(session?.csrf_token ?? null);

  useEffect(
    () =>
      onSessionExpired(() => {
        setExpired(true);
        queryClient.setQueryData(['session'], null);
        queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
      }),
    [queryClient],
  );

  // The idle timeout ends the session on the server; say so at that moment, not on the next click.
  useEffect(() => {
    if (!session) return;
    const idleMs = Date.parse(session.idle_expires_at) - Date.now();
    const hardMs = Date.parse(session.expires_at) - Date.now();
    const ms = Math.min(idleMs, hardMs);
    if (!Number.isFinite(ms)) return;
    const timer = setTimeout(
      () => void queryClient.invalidateQueries({ queryKey: ['session'] }),
      Math.max(ms, 0) + 1000,
    );
    return () => clearTimeout(timer);
  }, [session, queryClient]);

  const signIn = useCallback(
    async (username: string, password: string, totp?: string) => {
      const body = unwrap(
        await api.POST('/auth/login', { body: totp ? { username, password, totp } : { username, password } }),
      );
      setCsrfToken(body.csrf_token);
      setExpired(false);
      queryClient.setQueryData(['session'], body);
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    await api.POST('/auth/logout');
    setCsrfToken(null);
    // The session query keeps its observer: set it to null rather than clearing the whole cache.
    queryClient.setQueryData(['session'], null);
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
  }, [queryClient]);

  const value = useMemo(
    () => ({ session, loading: query.isPending, expired, signIn, signOut }),
    [session, query.isPending, expired, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

/** Whether the signed-in user holds a scope, or a role written `role:NAME` (root holds everything). */
export function useCan(): (scopeOrRole: string) => boolean {
  const { session } = useSession();
  return (what) => {
    if (!session) return false;
    if (session.user.is_root) return true;
    return what.startsWith('role:')
      ? session.user.roles.includes(what.slice(5))
      : session.user.scopes.includes(what);
  };
}
