import { Alert, Anchor, Button, Code, Group, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { useCan } from '../api/session';
import { AuditTrail } from '../components/AuditTrail';
import { ConsentsPanel } from '../components/ConsentsPanel';
import { ReasonDialog } from '../components/ReasonDialog';
import { ErrorAlert, Field, formatDate, Loading, Masked, StatusBadge } from '../components/ui';
import { GENERIC_REASON_CODES } from '../lib/reasons';

function Versions({ personId }: { personId: string }) {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['person-versions', personId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/persons/{person_id}/versions', { params: { path: { person_id: personId } } }),
      ),
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  return (
    <Table.ScrollContainer minWidth={500}>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('versions.version')}</Table.Th>
            <Table.Th>{t('audit.when')}</Table.Th>
            <Table.Th>{t('versions.change')}</Table.Th>
            <Table.Th>{t('versions.fields')}</Table.Th>
            <Table.Th>{t('audit.actor')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {q.data.data.map((v) => (
            <Table.Tr key={v.version_id}>
              <Table.Td>{v.version_id}</Table.Td>
              <Table.Td>{formatDate(v.changed_at, true)}</Table.Td>
              <Table.Td>
                {v.change}
                {v.reason_code ? ` (${v.reason_code})` : ''}
              </Table.Td>
              <Table.Td>
                {v.fields.join(', ')}
                {v.masked_fields.length > 0 && <Masked reason={v.masked_fields.join(', ')} />}
              </Table.Td>
              <Table.Td>{v.changed_by ?? '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function PersonDetail() {
  const { t } = useTranslation();
  const { personId = '' } = useParams();
  const can = useCan();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<'archive' | 'restore' | null>(null);
  const q = useQuery({
    queryKey: ['person', personId],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/persons/{person_id}', { params: { path: { person_id: personId } } })),
  });
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['person', personId] });
    void queryClient.invalidateQueries({ queryKey: ['person-versions', personId] });
  };
  const verify = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/api/v1/persons/{person_id}/verify', {
          params: { path: { person_id: personId } },
          body: { verification_status: 'verified' },
        }),
      ),
    onSuccess: refresh,
  });
  const change = useMutation({
    mutationFn: async (v: { action: 'archive' | 'restore'; reason_code: string; reason_text?: string }) => {
      const { action, ...body } = v;
      const path =
        action === 'archive' ? '/api/v1/persons/{person_id}/archive' : '/api/v1/persons/{person_id}/restore';
      return unwrap(await api.POST(path, { params: { path: { person_id: personId } }, body }));
    },
    onSuccess: () => {
      setDialog(null);
      refresh();
    },
  });

  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  const p = q.data;
  const masked = new Set(p.masked_fields);
  const show = (field: string, value: string | null | undefined) =>
    masked.has(field) ? <Masked reason={t('persons.maskedReason')} /> : value || '—';

  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Title order={2}>{p.full_name}</Title>
          <Group gap="xs">
            <StatusBadge status={p.verification_status ?? '—'} />
            <StatusBadge status={p.status} />
          </Group>
        </Stack>
        {can('persons:write') && (
          <Group>
            {p.verification_status === 'provisional' && p.status === 'active' && (
              <Button loading={verify.isPending} onClick={() => verify.mutate()}>
                {t('persons.verify')}
              </Button>
            )}
            {p.status === 'active' ? (
              <Button variant="outline" color="red" onClick={() => setDialog('archive')}>
                {t('persons.archive')}
              </Button>
            ) : (
              <Button variant="outline" onClick={() => setDialog('restore')}>
                {t('persons.restore')}
              </Button>
            )}
          </Group>
        )}
      </Group>
      <ErrorAlert error={verify.error} />
      {masked.size > 0 && (
        <Alert color="gray" title={t('persons.maskedTitle')}>
          <Text size="sm">{t('persons.maskedExplain', { fields: [...masked].join(', ') })}</Text>
        </Alert>
      )}
      <Tabs defaultValue="details" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="details">{t('persons.details')}</Tabs.Tab>
          <Tabs.Tab value="consents">{t('consents.title')}</Tabs.Tab>
          <Tabs.Tab value="versions">{t('versions.title')}</Tabs.Tab>
          {can('audit:read') && <Tabs.Tab value="audit">{t('audit.trail')}</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="details" pt="md">
          <Stack>
            <Table>
              <Table.Tbody>
                <Field label={t('persons.givenName')}>{show('given_name', p.given_name)}</Field>
                <Field label={t('persons.familyName')}>{show('family_name', p.family_name)}</Field>
                <Field label={t('persons.dateOfBirth')}>{show('date_of_birth', p.date_of_birth)}</Field>
                <Field label={t('persons.gender')}>{show('gender', p.gender)}</Field>
                <Field label={t('persons.household')}>
                  {p.household_id ? (
                    <Anchor component={Link} to={`/households/${p.household_id}`}>
                      {t('persons.openHousehold')}
                    </Anchor>
                  ) : (
                    '—'
                  )}
                </Field>
                <Field label={t('persons.systemId')}>
                  <Code>{p.system_guid}</Code>
                </Field>
                <Field label={t('persons.registered')}>{formatDate(p.created_at, true)}</Field>
              </Table.Tbody>
            </Table>
            <Title order={3} size="h4">
              {t('persons.identities')}
            </Title>
            {masked.has('identities') ? (
              <Masked reason={t('persons.maskedReason')} />
            ) : (
              <Table>
                <Table.Tbody>
                  {p.identities.map((i) => (
                    <Table.Tr key={`${i.identity_type}:${i.identity_number}`}>
                      <Table.Td>{i.identity_type}</Table.Td>
                      <Table.Td>{i.identity_number}</Table.Td>
                      <Table.Td>
                        <StatusBadge status={i.status} />
                      </Table.Td>
                    </Table.Tr>
                  ))}
                  {p.identities.length === 0 && (
                    <Table.Tr>
                      <Table.Td>{t('common.none')}</Table.Td>
                    </Table.Tr>
                  )}
                </Table.Tbody>
              </Table>
            )}
            <Title order={3} size="h4">
              {t('persons.contacts')}
            </Title>
            {masked.has('contacts') ? (
              <Masked reason={t('persons.maskedReason')} />
            ) : (
              <Table>
                <Table.Tbody>
                  {p.contacts.map((c) => (
                    <Table.Tr key={`${c.type}:${c.value}`}>
                      <Table.Td>{c.type}</Table.Td>
                      <Table.Td>{c.value}</Table.Td>
                    </Table.Tr>
                  ))}
                  {p.contacts.length === 0 && (
                    <Table.Tr>
                      <Table.Td>{t('common.none')}</Table.Td>
                    </Table.Tr>
                  )}
                </Table.Tbody>
              </Table>
            )}
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="consents" pt="md">
          <ConsentsPanel personId={personId} />
        </Tabs.Panel>
        <Tabs.Panel value="versions" pt="md">
          <Versions personId={personId} />
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="md">
          <AuditTrail resourceId={personId} />
        </Tabs.Panel>
      </Tabs>
      <ReasonDialog
        opened={dialog !== null}
        title={dialog === 'archive' ? t('persons.archive') : t('persons.restore')}
        codes={GENERIC_REASON_CODES}
        confirmLabel={dialog === 'archive' ? t('persons.archive') : t('persons.restore')}
        busy={change.isPending}
        error={change.error}
        onClose={() => setDialog(null)}
        onConfirm={(r) => dialog && change.mutate({ action: dialog, ...r })}
      />
    </Stack>
  );
}
