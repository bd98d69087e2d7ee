import { Anchor, NativeSelect, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useVerticals } from '../api/hooks';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';

type View = 'pending' | 'expiring' | 'grace';

const EXPIRING_DAYS = 30;

/** The query of each work list of GET /api/v1/consents. */
function queryOf(view: View) {
  if (view === 'pending') return { status: 'pending' as const };
  if (view === 'grace') return { in_grace: true };
  return { expiring_before: new Date(Date.now() + EXPIRING_DAYS * 86_400_000).toISOString() };
}

/** Consents awaiting verification, due for renewal or in grace: the reviewer's work lists. */
export function ConsentQueue() {
  const { t } = useTranslation();
  const [view, setView] = useState<View>('pending');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const verticals = useVerticals();
  const nameOf = (id: string) => verticals.data?.find((v) => v.vertical_id === id)?.name ?? id.slice(0, 8);
  const list = useQuery({
    queryKey: ['consent-queue', view, cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/consents', {
          params: { query: { ...queryOf(view), limit: 50, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  return (
    <Stack>
      <Title order={2}>{t('consents.queue')}</Title>
      <Text size="sm">{t('consents.queueHelp')}</Text>
      <NativeSelect
        label={t('consents.queueView')}
        value={view}
        onChange={(e) => {
          setCursors([]);
          setView(e.currentTarget.value as View);
        }}
        data={[
          { value: 'pending', label: t('consents.queuePending') },
          { value: 'expiring', label: t('consents.queueExpiring', { days: EXPIRING_DAYS }) },
          { value: 'grace', label: t('consents.queueGrace') },
        ]}
        maw={360}
      />
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (list.data?.data ?? []).length === 0 ? (
        <Text c="dimmed">{t('common.none')}</Text>
      ) : (
        <Table.ScrollContainer minWidth={700}>
          <Table striped aria-label={t('consents.queue')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('consents.person')}</Table.Th>
                <Table.Th>{t('consents.vertical')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('consents.capturedAt')}</Table.Th>
                <Table.Th>{t('consents.until')}</Table.Th>
                <Table.Th>{t('consents.graceUntil')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((c) => (
                <Table.Tr key={c.consent_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/persons/${c.person_id}`}>
                      {c.person_id.slice(0, 8)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{nameOf(c.vertical_id)}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={c.status} />
                  </Table.Td>
                  <Table.Td>{formatDate(c.captured_at, true)}</Table.Td>
                  <Table.Td>{formatDate(c.active_until)}</Table.Td>
                  <Table.Td>{formatDate(c.grace_until)}</Table.Td>
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
