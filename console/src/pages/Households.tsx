import { Anchor, Button, Group, NativeSelect, Paper, Stack, Table, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useGeoAreas } from '../api/hooks';
import { useCan } from '../api/session';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';

export function Households() {
  const { t } = useTranslation();
  const can = useCan();
  const geo = useGeoAreas();
  const [geoId, setGeoId] = useState('');
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ['households', geoId, status, cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/households/search', {
          params: {
            query: {
              limit: 25,
              ...(cursor ? { cursor } : {}),
              ...(geoId ? { geo_id: geoId } : {}),
              ...(status ? { status: status as 'active' } : {}),
            },
          },
        }),
      ),
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('households.title')}</Title>
        {can('households:write') && (
          <Button component={Link} to="/households/new">
            {t('households.register')}
          </Button>
        )}
      </Group>
      <Paper withBorder p="md">
        <Group>
          <NativeSelect
            label={t('persons.geoArea')}
            value={geoId}
            onChange={(e) => {
              setCursors([]);
              setGeoId(e.currentTarget.value);
            }}
            data={[
              { value: '', label: t('common.any') },
              ...(geo.data ?? []).map((g) => ({ value: g.geo_id, label: g.name })),
            ]}
          />
          <NativeSelect
            label={t('common.status')}
            value={status}
            onChange={(e) => {
              setCursors([]);
              setStatus(e.currentTarget.value);
            }}
            data={[
              { value: '', label: t('common.any') },
              { value: 'active', label: t('status.active') },
              { value: 'archived', label: t('status.archived') },
            ]}
          />
        </Group>
      </Paper>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={500}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('households.name')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('persons.registered')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((h) => (
                <Table.Tr key={h.household_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/households/${h.household_id}`}>
                      {h.household_name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={h.status} />
                  </Table.Td>
                  <Table.Td>{formatDate(h.created_at)}</Table.Td>
                </Table.Tr>
              ))}
              {list.data?.data.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={3}>{t('common.none')}</Table.Td>
                </Table.Tr>
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager cursors={cursors} next={list.data?.next_cursor} onChange={setCursors} />
    </Stack>
  );
}
