import {
  Alert,
  Button,
  Group,
  NativeSelect,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';

interface Filters {
  action: string;
  actor: string;
  resource_type: string;
  resource_id: string;
  outcome: '' | 'success' | 'failure' | 'denied';
  since: string;
  until: string;
}

const EMPTY: Filters = {
  action: '',
  actor: '',
  resource_type: '',
  resource_id: '',
  outcome: '',
  since: '',
  until: '',
};

export function AuditLog() {
  const { t } = useTranslation();
  const [form, setForm] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const events = useQuery({
    queryKey: ['audit-log', filters, cursor],
    queryFn: async () => {
      const query = Object.fromEntries(
        Object.entries(filters).filter(([, v]) => v !== ''),
      ) as Partial<Filters>;
      if (query.since) query.since = new Date(`${query.since}T00:00:00Z`).toISOString();
      if (query.until) query.until = new Date(`${query.until}T23:59:59Z`).toISOString();
      return unwrap(
        await api.GET('/api/v1/audit-events', {
          params: {
            query: {
              ...query,
              outcome: query.outcome || undefined,
              limit: 50,
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      );
    },
  });
  const verify = useMutation({
    mutationFn: async () => unwrap(await api.GET('/api/v1/audit-events/verify')),
  });
  const set = (k: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  function submit(e: FormEvent) {
    e.preventDefault();
    setCursors([]);
    setFilters(form);
  }
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('audit.title')}</Title>
        <Button onClick={() => verify.mutate()} loading={verify.isPending}>
          {t('audit.verify')}
        </Button>
      </Group>
      <ErrorAlert error={verify.error} />
      {verify.data && (
        <Alert
          color={verify.data.valid ? 'green' : 'red'}
          role="status"
          data-testid="chain-result"
          title={verify.data.valid ? t('audit.chainValid') : t('audit.chainBroken')}
        >
          <Text size="sm">{t('audit.checked', { count: verify.data.checked })}</Text>
          {verify.data.first_break && (
            <Text size="sm">
              {t('audit.firstBreak', {
                id: verify.data.first_break.event_id,
                at: formatDate(verify.data.first_break.timestamp, true),
                reason: verify.data.first_break.reason,
              })}
            </Text>
          )}
        </Alert>
      )}
      <Paper withBorder p="md">
        <form onSubmit={submit} aria-label={t('audit.filters')}>
          <Group align="flex-end">
            <TextInput label={t('audit.action')} value={form.action} onChange={set('action')} />
            <TextInput label={t('audit.actor')} value={form.actor} onChange={set('actor')} />
            <TextInput
              label={t('audit.resourceType')}
              value={form.resource_type}
              onChange={set('resource_type')}
            />
            <TextInput label={t('audit.resourceId')} value={form.resource_id} onChange={set('resource_id')} />
            <NativeSelect
              label={t('audit.outcome')}
              value={form.outcome}
              onChange={set('outcome')}
              data={[
                { value: '', label: t('common.any') },
                { value: 'success', label: t('status.success') },
                { value: 'failure', label: t('status.failure') },
                { value: 'denied', label: t('status.denied') },
              ]}
            />
            <TextInput label={t('audit.since')} type="date" value={form.since} onChange={set('since')} />
            <TextInput label={t('audit.until')} type="date" value={form.until} onChange={set('until')} />
            <Button type="submit">{t('common.search')}</Button>
          </Group>
        </form>
      </Paper>
      <ErrorAlert error={events.error} />
      {events.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={700}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('audit.when')}</Table.Th>
                <Table.Th>{t('audit.action')}</Table.Th>
                <Table.Th>{t('audit.actor')}</Table.Th>
                <Table.Th>{t('audit.resource')}</Table.Th>
                <Table.Th>{t('audit.outcome')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(events.data?.data ?? []).map((e) => (
                <Table.Tr key={e.event_id}>
                  <Table.Td>{formatDate(e.timestamp, true)}</Table.Td>
                  <Table.Td>{e.action}</Table.Td>
                  <Table.Td>{e.actor_id ?? '—'}</Table.Td>
                  <Table.Td>
                    {e.resource_type ?? '—'} {e.resource_id ? e.resource_id.slice(0, 8) : ''}
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={e.outcome} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager cursors={cursors} next={events.data?.next_cursor} onChange={setCursors} />
    </Stack>
  );
}
