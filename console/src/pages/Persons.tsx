import { Anchor, Button, Group, NativeSelect, Paper, Stack, Table, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useGeoAreas } from '../api/hooks';
import { useCan } from '../api/session';
import { ErrorAlert, Loading, Masked, Pager, StatusBadge } from '../components/ui';

const CRITERIA = ['name', 'identity', 'phone', 'email', 'birth_date'] as const;
type Criterion = (typeof CRITERIA)[number];

interface Search {
  criterion: Criterion;
  value: string;
  geoId: string;
}

export function Persons() {
  const { t } = useTranslation();
  const can = useCan();
  const geo = useGeoAreas();
  const [form, setForm] = useState<Search>({ criterion: 'name', value: '', geoId: '' });
  const [search, setSearch] = useState<Search>(form);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);

  const list = useQuery({
    queryKey: ['persons', search, cursor],
    queryFn: async () => {
      const paging = { limit: 25, ...(cursor ? { cursor } : {}) };
      const geoId = search.geoId || undefined;
      if (search.value.trim()) {
        return unwrap(
          await api.GET('/api/v1/persons/search', {
            params: {
              query: {
                ...paging,
                criteria_id: search.criterion,
                criteria_value: search.value.trim(),
                geo_id: geoId,
              },
            },
          }),
        );
      }
      if (geoId) {
        return unwrap(
          await api.GET('/api/v1/persons/search', { params: { query: { ...paging, geo_id: geoId } } }),
        );
      }
      return unwrap(await api.GET('/api/v1/persons', { params: { query: paging } }));
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setCursors([]);
    setSearch(form);
  }

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{t('persons.title')}</Title>
        {can('persons:write') && (
          <Button component={Link} to="/persons/new">
            {t('persons.register')}
          </Button>
        )}
      </Group>
      <Paper withBorder p="md">
        <form onSubmit={submit} aria-label={t('persons.search')}>
          <Group align="flex-end" wrap="wrap">
            <NativeSelect
              label={t('persons.searchBy')}
              value={form.criterion}
              onChange={(e) => setForm({ ...form, criterion: e.currentTarget.value as Criterion })}
              data={CRITERIA.map((c) => ({ value: c, label: t(`persons.criteria.${c}`) }))}
            />
            <TextInput
              label={t('persons.searchValue')}
              value={form.value}
              onChange={(e) => setForm({ ...form, value: e.currentTarget.value })}
              style={{ flex: 1, minWidth: 200 }}
            />
            <NativeSelect
              label={t('persons.geoArea')}
              value={form.geoId}
              onChange={(e) => setForm({ ...form, geoId: e.currentTarget.value })}
              data={[
                { value: '', label: t('common.any') },
                ...(geo.data ?? []).map((g) => ({ value: g.geo_id, label: g.name })),
              ]}
            />
            <Button type="submit">{t('common.search')}</Button>
          </Group>
        </form>
      </Paper>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('persons.fullName')}</Table.Th>
                <Table.Th>{t('persons.dateOfBirth')}</Table.Th>
                <Table.Th>{t('persons.gender')}</Table.Th>
                <Table.Th>{t('persons.verification')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((p) => (
                <Table.Tr key={p.person_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/persons/${p.person_id}`}>
                      {p.full_name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    {p.masked_fields.includes('date_of_birth') ? <Masked /> : (p.date_of_birth ?? '—')}
                  </Table.Td>
                  <Table.Td>{p.gender ?? '—'}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={p.verification_status ?? '—'} />
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={p.status} />
                  </Table.Td>
                </Table.Tr>
              ))}
              {list.data?.data.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={5}>{t('common.none')}</Table.Td>
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
