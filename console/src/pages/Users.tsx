import {
  Alert,
  Button,
  Checkbox,
  Code,
  Group,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { useFieldErrors } from '../components/PersonForm';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';

/** The staff roles a tenant admin gives to people (ROOT is an operator's, never given here). */
const STAFF_ROLES = ['tenant_admin', 'registrar', 'reviewer', 'approver', 'auditor'] as const;
type StaffRole = (typeof STAFF_ROLES)[number];

/** A one-time password, shown once after create or reset. */
function OneTimePassword({ username, password }: { username: string; password: string }) {
  const { t } = useTranslation();
  return (
    <Alert
      color="yellow"
      role="status"
      title={t('users.oneTimeTitle', { username })}
      data-testid="one-time-password"
    >
      <Text size="sm">{t('users.oneTimeHelp')}</Text>
      <Code>{password}</Code>
    </Alert>
  );
}

function NewUser({ onCreated }: { onCreated(username: string, password: string | undefined): void }) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<StaffRole[]>(['registrar']);
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/api/v1/users', {
          body: {
            username,
            roles,
            ...(displayName ? { display_name: displayName } : {}),
            ...(email ? { email } : {}),
          },
        }),
      ),
    onSuccess: (user) => {
      onCreated(user.username, user.one_time_password);
      setUsername('');
      setDisplayName('');
      setEmail('');
    },
  });
  const fieldError = useFieldErrors(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={3} size="h4">
            {t('users.new')}
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <TextInput
              label={t('users.username')}
              required
              value={username}
              onChange={(e) => setUsername(e.currentTarget.value)}
              error={fieldError('username')}
            />
            <TextInput
              label={t('users.displayName')}
              value={displayName}
              onChange={(e) => setDisplayName(e.currentTarget.value)}
              error={fieldError('display_name')}
            />
            <TextInput
              label={t('users.email')}
              type="email"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              error={fieldError('email')}
            />
          </SimpleGrid>
          <Checkbox.Group
            label={t('users.roles')}
            value={roles}
            onChange={(v) => setRoles(v as StaffRole[])}
            error={fieldError('roles')}
          >
            <Group mt="xs">
              {STAFF_ROLES.map((r) => (
                <Checkbox key={r} value={r} label={t(`users.role.${r}`)} />
              ))}
            </Group>
          </Checkbox.Group>
          <ErrorAlert error={create.error} />
          <Group>
            <Button type="submit" loading={create.isPending}>
              {t('users.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

/** People who sign in to the tenant: create, deactivate, unlock, reset a password. */
export function Users() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [cursors, setCursors] = useState<string[]>([]);
  const [shown, setShown] = useState<{ username: string; password: string } | null>(null);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ['users', cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/users', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }),
      ),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['users'] });
  const change = useMutation({
    mutationFn: async (v: { id: string; body: { active?: boolean; unlock?: true } }) =>
      unwrap(
        await api.PATCH('/api/v1/users/{user_id}', { params: { path: { user_id: v.id } }, body: v.body }),
      ),
    onSuccess: refresh,
  });
  const reset = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST('/api/v1/users/{user_id}/reset-password', { params: { path: { user_id: id } } })),
    onSuccess: (r) => {
      setShown({ username: r.username, password: r.one_time_password });
      refresh();
    },
  });
  return (
    <Stack>
      <Title order={2}>{t('users.title')}</Title>
      <NewUser
        onCreated={(username, password) => {
          setShown(password ? { username, password } : null);
          refresh();
        }}
      />
      {shown && <OneTimePassword username={shown.username} password={shown.password} />}
      <ErrorAlert error={list.error ?? change.error ?? reset.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={800}>
          <Table striped aria-label={t('users.title')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('users.username')}</Table.Th>
                <Table.Th>{t('users.displayName')}</Table.Th>
                <Table.Th>{t('users.roles')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('users.lastSignIn')}</Table.Th>
                <Table.Th>{t('common.actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((u) => (
                <Table.Tr key={u.user_id} data-testid="user-row">
                  <Table.Td>{u.username}</Table.Td>
                  <Table.Td>{u.display_name ?? '—'}</Table.Td>
                  <Table.Td>
                    {u.roles.map((r) => t(`users.role.${r}`, { defaultValue: r })).join(', ')}
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={u.active ? 'active' : 'disabled'} />
                    {u.locked_until && new Date(u.locked_until) > new Date() && (
                      <Text size="xs">{t('users.locked')}</Text>
                    )}
                  </Table.Td>
                  <Table.Td>{formatDate(u.last_login_at, true)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      <Button
                        size="xs"
                        variant="light"
                        onClick={() => change.mutate({ id: u.user_id, body: { active: !u.active } })}
                        aria-label={t(u.active ? 'users.deactivateNamed' : 'users.activateNamed', {
                          username: u.username,
                        })}
                      >
                        {t(u.active ? 'users.deactivate' : 'users.activate')}
                      </Button>
                      {u.auth_source === 'local' && (
                        <Button
                          size="xs"
                          variant="light"
                          onClick={() => reset.mutate(u.user_id)}
                          aria-label={t('users.resetNamed', { username: u.username })}
                        >
                          {t('users.reset')}
                        </Button>
                      )}
                      {u.locked_until && (
                        <Button
                          size="xs"
                          variant="light"
                          onClick={() => change.mutate({ id: u.user_id, body: { unlock: true } })}
                        >
                          {t('users.unlock')}
                        </Button>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager cursors={cursors} next={list.data?.next_cursor} onChange={setCursors} />
    </Stack>
  );
}
