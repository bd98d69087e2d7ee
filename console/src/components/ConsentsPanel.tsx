import {
  Anchor,
  Button,
  FileInput,
  Group,
  NativeSelect,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { useVerticals } from '../api/hooks';
import { useCan, useSession } from '../api/session';
import { CONSENT_REJECTION_REASONS } from '../lib/reasons';
import { useFieldErrors } from './PersonForm';
import { ReasonDialog } from './ReasonDialog';
import { ErrorAlert, formatDate, Loading, Masked, StatusBadge } from './ui';

/** Uploads one evidence file as the raw body (the API stores it and answers its id). */
async function uploadEvidence(file: File): Promise<string> {
  const res = await api.POST('/api/v1/attachments', {
    params: { query: { filename: file.name } },
    body: file as never,
    bodySerializer: (b: unknown) => b as BodyInit,
    headers: { 'Content-Type': file.type || 'application/octet-stream' },
  });
  return unwrap(res).attachment_id;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function CaptureConsent({ personId }: { personId: string }) {
  const { t } = useTranslation();
  const { session } = useSession();
  const verticals = useVerticals();
  const queryClient = useQueryClient();
  const [verticalId, setVerticalId] = useState('');
  const [from, setFrom] = useState(today());
  const [until, setUntil] = useState('');
  const [mode, setMode] = useState<'online' | 'offline'>('offline');
  const [capturedBy, setCapturedBy] = useState(session?.user.display_name ?? session?.user.username ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [document, setDocument] = useState<File | null>(null);
  const capture = useMutation({
    mutationFn: async () => {
      const evidence = file ? [await uploadEvidence(file)] : [];
      const verificationDocument = document ? await uploadEvidence(document) : null;
      return unwrap(
        await api.POST('/api/v1/persons/{person_id}/consents', {
          params: { path: { person_id: personId } },
          body: {
            vertical_id: verticalId || (verticals.data?.[0]?.vertical_id ?? ''),
            active_from: new Date(`${from}T00:00:00Z`).toISOString(),
            ...(until ? { active_until: new Date(`${until}T23:59:59Z`).toISOString() } : {}),
            capture_mode: mode,
            captured_by: capturedBy,
            ...(evidence.length ? { evidence_attachment_ids: evidence } : {}),
            ...(verificationDocument ? { verification_document_attachment_id: verificationDocument } : {}),
          },
        }),
      );
    },
    onSuccess: () => {
      setFile(null);
      setDocument(null);
      void queryClient.invalidateQueries({ queryKey: ['consents', personId] });
    },
  });
  const fieldError = useFieldErrors(capture.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    capture.mutate();
  }
  return (
    <Paper withBorder p="md">
      <Title order={4} mb="sm">
        {t('consents.capture')}
      </Title>
      <form onSubmit={submit} noValidate>
        <Stack>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <NativeSelect
              label={t('consents.vertical')}
              value={verticalId || (verticals.data?.[0]?.vertical_id ?? '')}
              onChange={(e) => setVerticalId(e.currentTarget.value)}
              error={fieldError('vertical_id')}
              data={(verticals.data ?? []).map((v) => ({ value: v.vertical_id, label: v.name }))}
            />
            <NativeSelect
              label={t('consents.mode')}
              value={mode}
              onChange={(e) => setMode(e.currentTarget.value as 'online' | 'offline')}
              data={[
                { value: 'offline', label: t('consents.offline') },
                { value: 'online', label: t('consents.online') },
              ]}
            />
            <TextInput
              label={t('consents.from')}
              type="date"
              value={from}
              onChange={(e) => setFrom(e.currentTarget.value)}
              error={fieldError('active_from')}
            />
            <TextInput
              label={t('consents.until')}
              type="date"
              value={until}
              onChange={(e) => setUntil(e.currentTarget.value)}
              error={fieldError('active_until')}
            />
            <TextInput
              label={t('consents.capturedBy')}
              value={capturedBy}
              onChange={(e) => setCapturedBy(e.currentTarget.value)}
              error={fieldError('captured_by')}
            />
            <FileInput
              label={t('consents.evidence')}
              value={file}
              onChange={setFile}
              accept="image/jpeg,image/png,image/webp,application/pdf,audio/mpeg,audio/ogg"
              clearable
              error={fieldError('evidence_attachment_ids')}
            />
            <FileInput
              label={t('consents.document')}
              value={document}
              onChange={setDocument}
              accept="image/jpeg,image/png,image/webp,application/pdf"
              clearable
              error={fieldError('verification_document_attachment_id')}
            />
          </SimpleGrid>
          <ErrorAlert error={capture.error} />
          <Group>
            <Button type="submit" loading={capture.isPending}>
              {t('consents.captureButton')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

function Evidence({ consentId }: { consentId: string }) {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['evidence', consentId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/consents/{consent_id}/evidence', {
          params: { path: { consent_id: consentId } },
        }),
      ),
  });
  if (!q.data) return null;
  if (q.data.masked) return <Masked reason={t('consents.evidenceMasked')} />;
  return (
    <Group gap="xs">
      {q.data.evidence_attachment_ids.map((id, i) => (
        <Anchor key={id} href={`/api/v1/attachments/${id}`} target="_blank" rel="noopener">
          {t('consents.evidenceFile', { n: i + 1 })}
        </Anchor>
      ))}
    </Group>
  );
}

export function ConsentsPanel({ personId }: { personId: string }) {
  const { t } = useTranslation();
  const can = useCan();
  const queryClient = useQueryClient();
  const verticals = useVerticals();
  const [rejecting, setRejecting] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['consents', personId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/persons/{person_id}/consents', { params: { path: { person_id: personId } } }),
      ),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['consents', personId] });
  const verify = useMutation({
    mutationFn: async (id: string) =>
      unwrap(
        await api.POST('/api/v1/consents/{consent_id}/verify', {
          params: { path: { consent_id: id } },
          body: {},
        }),
      ),
    onSuccess: refresh,
  });
  const reject = useMutation({
    mutationFn: async (v: { id: string; reason_code: string; reason_text?: string }) =>
      unwrap(
        await api.POST('/api/v1/consents/{consent_id}/reject', {
          params: { path: { consent_id: v.id } },
          body: {
            reason_code: v.reason_code as (typeof CONSENT_REJECTION_REASONS)[number],
            ...(v.reason_text ? { reason_text: v.reason_text } : {}),
          },
        }),
      ),
    onSuccess: () => {
      setRejecting(null);
      refresh();
    },
  });
  const verticalName = (id: string) => verticals.data?.find((v) => v.vertical_id === id)?.name ?? id;
  return (
    <Stack>
      <ErrorAlert error={list.error ?? verify.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <Table.ScrollContainer minWidth={600}>
          <Table aria-label={t('consents.title')}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('consents.vertical')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('consents.from')}</Table.Th>
                <Table.Th>{t('consents.until')}</Table.Th>
                <Table.Th>{t('consents.evidence')}</Table.Th>
                <Table.Th>{t('common.actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((c) => (
                <Table.Tr key={c.consent_id} data-testid="consent-row">
                  <Table.Td>{verticalName(c.vertical_id)}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={c.status} />
                  </Table.Td>
                  <Table.Td>{formatDate(c.active_from)}</Table.Td>
                  <Table.Td>{formatDate(c.active_until)}</Table.Td>
                  <Table.Td>
                    <Evidence consentId={c.consent_id} />
                  </Table.Td>
                  <Table.Td>
                    {c.status === 'pending' && can('consents:verify') && (
                      <Group gap="xs">
                        <Button
                          size="xs"
                          loading={verify.isPending}
                          onClick={() => verify.mutate(c.consent_id)}
                        >
                          {t('consents.verify')}
                        </Button>
                        <Button
                          size="xs"
                          color="red"
                          variant="outline"
                          onClick={() => setRejecting(c.consent_id)}
                        >
                          {t('consents.reject')}
                        </Button>
                      </Group>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
              {list.data?.data.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={6}>{t('common.none')}</Table.Td>
                </Table.Tr>
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {can('consents:write') && <CaptureConsent personId={personId} />}
      <ReasonDialog
        opened={rejecting !== null}
        title={t('consents.reject')}
        codes={CONSENT_REJECTION_REASONS}
        confirmLabel={t('consents.reject')}
        busy={reject.isPending}
        error={reject.error}
        onClose={() => setRejecting(null)}
        onConfirm={(r) => rejecting && reject.mutate({ id: rejecting, ...r })}
      />
    </Stack>
  );
}
