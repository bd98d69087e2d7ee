import { Button, Group, Paper, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorAlert, Loading, Pager, StatusBadge } from '../components/ui';

const FINISHED = new Set(['completed', 'failed', 'rolled_back']);

export function ImportRun() {
  const { t } = useTranslation();
  const { importId = '' } = useParams();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const run = useQuery({
    queryKey: ['import', importId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/person-imports/{import_id}', { params: { path: { import_id: importId } } }),
      ),
    // The job runs in the background: follow it until it is finished.
    refetchInterval: (q) => (q.state.data && FINISHED.has(q.state.data.status) ? false : 1000),
  });
  const finished = !!run.data && FINISHED.has(run.data.status);
  const errors = useQuery({
    queryKey: ['import-errors', importId, cursor],
    enabled: finished,
    queryFn: async () => {
      const page = unwrap(
        await api.GET('/api/v1/person-imports/{import_id}/errors', {
          params: { path: { import_id: importId }, query: { limit: 50, ...(cursor ? { cursor } : {}) } },
        }),
      );
      // The route also answers CSV (with Accept: text/csv); this call asks for the JSON pages.
      return typeof page === 'string' ? { data: [], next_cursor: null } : page;
    },
  });
  const download = useMutation({
    mutationFn: async () => {
      const res = await api.GET('/api/v1/person-imports/{import_id}/errors', {
        params: { path: { import_id: importId } },
        headers: { Accept: 'text/csv' },
        parseAs: 'blob',
      });
      const blob = unwrap(res) as unknown as Blob;
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `import-${importId}-errors.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });

  if (run.isPending) return <Loading />;
  if (run.error) return <ErrorAlert error={run.error} />;
  const r = run.data;
  const percent = Math.round(r.progress.percent);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>{r.filename ?? t('imports.run')}</Title>
        <StatusBadge status={r.status} />
      </Group>
      <Paper withBorder p="md">
        <Stack>
          <Text size="sm" id="import-progress-label">
            {t(`imports.phase.${r.progress.phase}`)} — {r.progress.rows_done} /{' '}
            {r.progress.rows_total || r.counts.rows_read}
          </Text>
          <Progress
            value={finished ? 100 : percent}
            animated={!finished}
            size="xl"
            aria-labelledby="import-progress-label"
            aria-label={t('imports.progress')}
            data-testid="import-progress"
            data-status={r.status}
          />
          <SimpleGrid cols={{ base: 2, sm: 3, md: 6 }}>
            {(['rows_read', 'valid', 'created', 'updated', 'skipped', 'rejected'] as const).map((k) => (
              <Stack gap={0} key={k}>
                <Text size="xs" c="dimmed">
                  {t(`imports.counts.${k}`)}
                </Text>
                <Text fw={700} data-testid={`count-${k}`}>
                  {r.counts[k]}
                </Text>
              </Stack>
            ))}
          </SimpleGrid>
          {r.error && <ErrorAlert error={new Error(r.error)} />}
        </Stack>
      </Paper>
      {finished && (
        <Stack>
          <Group justify="space-between">
            <Title order={3} size="h4">
              {t('imports.errors')}
            </Title>
            <Button
              variant="outline"
              onClick={() => download.mutate()}
              loading={download.isPending}
              disabled={!errors.data?.data.length}
            >
              {t('imports.downloadErrors')}
            </Button>
          </Group>
          <ErrorAlert error={errors.error ?? download.error} />
          <Table.ScrollContainer minWidth={500}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('imports.row')}</Table.Th>
                  <Table.Th>{t('imports.field')}</Table.Th>
                  <Table.Th>{t('imports.message')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(errors.data?.data ?? []).map((e) => (
                  <Table.Tr key={`${e.row}:${e.field}:${e.code}`} data-testid="import-error">
                    <Table.Td>{e.row}</Table.Td>
                    <Table.Td>{e.field}</Table.Td>
                    <Table.Td>{e.message}</Table.Td>
                  </Table.Tr>
                ))}
                {errors.data?.data.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={3}>{t('imports.noErrors')}</Table.Td>
                  </Table.Tr>
                )}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Pager cursors={cursors} next={errors.data?.next_cursor} onChange={setCursors} />
        </Stack>
      )}
    </Stack>
  );
}
