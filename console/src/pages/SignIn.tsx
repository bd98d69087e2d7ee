import {
  Alert,
  Anchor,
  Button,
  Center,
  Divider,
  Paper,
  PasswordInput,
  Stack,
  TextInput,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation } from 'react-router';
import { ApiError, api } from '../api/client';
import { useSession } from '../api/session';

export function SignIn() {
  const { t } = useTranslation();
  const { signIn, expired } = useSession();
  const location = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needsTotp, setNeedsTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: async () => (await api.GET('/auth/providers')).data ?? null,
  });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password, needsTotp ? totp : undefined);
    } catch (err) {
      const code = err instanceof ApiError ? err.problem.code : undefined;
      if (code === 'ERR_AUTH_TOTP_REQUIRED') setNeedsTotp(true);
      setError(
        err instanceof ApiError && err.status === 401
          ? code === 'ERR_AUTH_TOTP_REQUIRED'
            ? t('auth.totpRequired')
            : t('auth.invalid')
          : err instanceof ApiError && err.status === 429
            ? t('auth.rateLimited')
            : t('auth.failed'),
      );
    } finally {
      setBusy(false);
    }
  }

  const from = (location.state as { from?: string } | null)?.from ?? '/';
  const oidc = providers.data?.oidc;
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={400} component="main">
        <Title order={1} size="h2" mb="md">
          {t('auth.title')}
        </Title>
        {expired && (
          <Alert color="yellow" mb="md" role="status" data-testid="session-expired">
            {t('auth.expired')}
          </Alert>
        )}
        <form onSubmit={submit} noValidate>
          <Stack>
            <TextInput
              label={t('auth.username')}
              autoComplete="username"
              required
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
            />
            <PasswordInput
              label={t('auth.password')}
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            {needsTotp && (
              <TextInput
                label={t('auth.totp')}
                autoComplete="one-time-code"
                inputMode="numeric"
                value={totp}
                onChange={(e) => setTotp(e.currentTarget.value)}
              />
            )}
            {error && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy}>
              {t('auth.signIn')}
            </Button>
          </Stack>
        </form>
        {oidc && (
          <>
            <Divider my="md" label={t('auth.or')} />
            <Button
              component="a"
              variant="outline"
              fullWidth
              href={`${oidc.login_url}${oidc.login_url.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(`/console${from}`)}`}
            >
              {t('auth.signInWith', { name: oidc.name })}
            </Button>
          </>
        )}
        <Anchor href="/docs" size="sm" mt="md" display="block">
          {t('auth.apiDocs')}
        </Anchor>
      </Paper>
    </Center>
  );
}
