import { Anchor, Button, Group, Paper, Stack, Table, Tabs, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { useCan } from '../api/session';
import { AuditTrail } from '../components/AuditTrail';
import { PersonForm } from '../components/PersonForm';
import { ReasonDialog } from '../components/ReasonDialog';
import { ErrorAlert, Field, formatDate, Loading, StatusBadge } from '../components/ui';
import { GENERIC_REASON_CODES } from '../lib/reasons';

export function HouseholdDetail() {
  const { t } = useTranslation();
  const { householdId = '' } = useParams();
  const can = useCan();
  const queryClient = useQueryClient();
  const [dialog, setDialog] = useState<'archive' | 'restore' | null>(null);
  const household = useQuery({
    queryKey: ['household', householdId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/households/{household_id}', {
          params: { path: { household_id: householdId } },
        }),
      ),
  });
  const members = useQuery({
    queryKey: ['household-members', householdId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/households/{household_id}/members', {
          params: { path: { household_id: householdId } },
        }),
      ),
  });
  const change = useMutation({
    mutationFn: async (v: { action: 'archive' | 'restore'; reason_code: string; reason_text?: string }) => {
      const { action, ...body } = v;
      const path =
        action === 'archive'
          ? '/api/v1/households/{household_id}/archive'
          : '/api/v1/households/{household_id}/restore';
      return unwrap(await api.POST(path, { params: { path: { household_id: householdId } }, body }));
    },
    onSuccess: () => {
      setDialog(null);
      void queryClient.invalidateQueries({ queryKey: ['household', householdId] });
    },
  });

  if (household.isPending) return <Loading />;
  if (household.error) return <ErrorAlert error={household.error} />;
  const h = household.data;
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Title order={2}>{h.household_name}</Title>
          <StatusBadge status={h.status} />
        </Stack>
        {can('households:write') && (
          <Button
            variant="outline"
            color={h.status !== 'archived' ? 'red' : undefined}
            onClick={() => setDialog(h.status !== 'archived' ? 'archive' : 'restore')}
          >
            {h.status !== 'archived' ? t('persons.archive') : t('persons.restore')}
          </Button>
        )}
      </Group>
      <Tabs defaultValue="members" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="members">{t('households.members')}</Tabs.Tab>
          <Tabs.Tab value="details">{t('persons.details')}</Tabs.Tab>
          {can('audit:read') && <Tabs.Tab value="audit">{t('audit.trail')}</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="members" pt="md">
          <Stack>
            <ErrorAlert error={members.error} />
            {members.isPending ? (
              <Loading />
            ) : (
              <Table aria-label={t('households.members')}>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('persons.fullName')}</Table.Th>
                    <Table.Th>{t('households.role')}</Table.Th>
                    <Table.Th>{t('households.since')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {(members.data?.data ?? []).map((m) => (
                    <Table.Tr key={m.membership_id} data-testid="member-row">
                      <Table.Td>
                        <Anchor component={Link} to={`/persons/${m.person_id}`}>
                          {m.person.full_name}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>
                        {t(`roles.${m.relationship_type}`, { defaultValue: m.relationship_type })}
                      </Table.Td>
                      <Table.Td>{formatDate(m.effective_from)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            {can('persons:write') && h.status !== 'archived' && (
              <Paper withBorder p="md">
                <Title order={3} size="h4" mb="sm">
                  {t('households.addMember')}
                </Title>
                <PersonForm
                  householdId={householdId}
                  submitLabel={t('households.addMemberButton')}
                  onCreated={() =>
                    void queryClient.invalidateQueries({ queryKey: ['household-members', householdId] })
                  }
                />
              </Paper>
            )}
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="details" pt="md">
          <Table>
            <Table.Tbody>
              <Field label={t('households.name')}>{h.household_name}</Field>
              <Field label={t('persons.registered')}>{formatDate(h.created_at, true)}</Field>
              <Field label={t('households.position')}>
                {h.geo_lat != null && h.geo_lon != null ? `${h.geo_lat}, ${h.geo_lon}` : '—'}
              </Field>
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="md">
          <AuditTrail resourceId={householdId} />
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
