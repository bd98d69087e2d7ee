import {
  Anchor,
  Button,
  Checkbox,
  FileInput,
  Group,
  NativeSelect,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../api/client';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';

type Mode = 'all_or_nothing' | 'best_effort';
type OnDuplicate = 'reject' | 'skip' | 'update';

function contentTypeOf(file: File): string {
  return /\.(nd)?jsonl?$/i.test(file.name) || file.type.includes('json')
    ? 'application/x-ndjson'
    : 'text/csv';
}

export function Imports() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<Mode>('best_effort');
  const [onDuplicate, setOnDuplicate] = useState<OnDuplicate>('reject');
  const [dryRun, setDryRun] = useState(false);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const runs = useQuery({
    queryKey: ['imports', cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/person-imports', {
          params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  const upload = useMutation({
    mutationFn: async (f: File) =>
      unwrap(
        await api.POST('/api/v1/person-imports', {
          params: { query: { mode, on_duplicate: onDuplicate, dry_run: dryRun, filename: f.name } },
          // The file is the body, streamed as it is (CSV or NDJSON).
          body: f as never,
          bodySerializer: (b: unknown) => b as BodyInit,
          headers: { 'Content-Type': contentTypeOf(f) },
        }),
      ),
    onSuccess: (run) => navigate(`/imports/${run.import_id}`),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (file) upload.mutate(file);
  }
  return (
    <Stack>
      <Title order={2}>{t('imports.title')}</Title>
      <Paper withBorder p="md">
        <form onSubmit={submit}>
          <Stack>
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <FileInput
                label={t('imports.file')}
                description={t('imports.fileHelp')}
                value={file}
                onChange={setFile}
                accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson"
                required
              />
              <NativeSelect
                label={t('imports.mode')}
                value={mode}
                onChange={(e) => setMode(e.currentTarget.value as Mode)}
                data={[
                  { value: 'best_effort', label: t('imports.bestEffort') },
                  { value: 'all_or_nothing', label: t('imports.allOrNothing') },
                ]}
              />
              <NativeSelect
                label={t('imports.onDuplicate')}
                value={onDuplicate}
                onChange={(e) => setOnDuplicate(e.currentTarget.value as OnDuplicate)}
                data={(['reject', 'skip', 'update'] as const).map((v) => ({
                  value: v,
                  label: t(`imports.duplicate.${v}`),
                }))}
              />
              <Checkbox
                label={t('imports.dryRun')}
                checked={dryRun}
                onChange={(e) => setDryRun(e.currentTarget.checked)}
                mt="lg"
              />
            </SimpleGrid>
            <ErrorAlert error={upload.error} />
            <Group>
              <Button type="submit" disabled={!file} loading={upload.isPending}>
                {t('imports.upload')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
      <Title order={3} size="h4">
        {t('imports.recent')}
      </Title>
      <ErrorAlert error={runs.error} />
      {runs.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('imports.fileName')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('imports.rows')}</Table.Th>
                <Table.Th>{t('common.created')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(runs.data?.data ?? []).map((r) => (
                <Table.Tr key={r.import_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/imports/${r.import_id}`}>
                      {r.filename ?? r.import_id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={r.status} />
                  </Table.Td>
                  <Table.Td>{r.counts.rows_read}</Table.Td>
                  <Table.Td>{formatDate(r.created_at, true)}</Table.Td>
                </Table.Tr>
              ))}
              {runs.data?.data.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={4}>
                    <Text size="sm">{t('common.none')}</Text>
                  </Table.Td>
                </Table.Tr>
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Pager cursors={cursors} next={runs.data?.next_cursor} onChange={setCursors} />
    </Stack>
  );
}
