import {
  Anchor,
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
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import {
  MEMBERSHIP_STATUSES,
  MEMBERSHIP_TRANSITIONS,
  type MembershipStatus,
} from '../../../src/programs/membership-states';
import { api, unwrap } from '../api/client';
import { useCan } from '../api/session';
import { useFieldErrors } from '../components/PersonForm';
import { ReasonDialog } from '../components/ReasonDialog';
import { ErrorAlert, formatDate, Loading, Pager, StatusBadge } from '../components/ui';
import { GENERIC_REASON_CODES } from '../lib/reasons';

interface Programme {
  program_id: string;
  name: string;
  target_type: string;
}

function Enrol({ programme, onDone }: { programme: Programme; onDone(): void }) {
  const { t } = useTranslation();
  const [beneficiary, setBeneficiary] = useState('');
  const enrol = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/api/v1/programs/{program_id}/memberships', {
          params: { path: { program_id: programme.program_id } },
          body: { beneficiary: beneficiary.trim(), status: 'draft' },
        }),
      ),
    onSuccess: () => {
      setBeneficiary('');
      onDone();
    },
  });
  const fieldError = useFieldErrors(enrol.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    enrol.mutate();
  }
  return (
    <form onSubmit={submit} noValidate>
      <Group align="flex-end">
        <TextInput
          label={t(programme.target_type === 'group' ? 'programmes.householdId' : 'programmes.personId')}
          value={beneficiary}
          onChange={(e) => setBeneficiary(e.currentTarget.value)}
          error={fieldError('beneficiary')}
          w={360}
        />
        <Button type="submit" loading={enrol.isPending}>
          {t('programmes.enrol')}
        </Button>
      </Group>
      <ErrorAlert error={enrol.error} />
    </form>
  );
}

/** One programme's enrolment list, with the status changes each membership allows. */
function Memberships({ programme }: { programme: Programme }) {
  const { t } = useTranslation();
  const can = useCan();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<MembershipStatus | ''>('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [exiting, setExiting] = useState<string | null>(null);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ['memberships', programme.program_id, status, cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/programs/{program_id}/memberships', {
          params: {
            path: { program_id: programme.program_id },
            query: { limit: 50, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) },
          },
        }),
      ),
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['memberships', programme.program_id] });
  const change = useMutation({
    mutationFn: async (v: {
      id: string;
      to: MembershipStatus;
      reason?: { reason_code: string; reason_text?: string };
    }) =>
      unwrap(
        await api.PATCH('/api/v1/programs/{program_id}/memberships/{membership_id}', {
          params: { path: { program_id: programme.program_id, membership_id: v.id } },
          body: {
            status: v.to,
            ...(v.reason ? { ...v.reason, exit_reason: v.reason.reason_text ?? v.reason.reason_code } : {}),
          },
        }),
      ),
    onSuccess: () => {
      setExiting(null);
      refresh();
    },
  });
  const writable = can('programs:write');
  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={3} size="h4">
          {t('programmes.memberships', { name: programme.name })}
        </Title>
        {writable && <Enrol programme={programme} onDone={refresh} />}
        <NativeSelect
          label={t('common.status')}
          value={status}
          onChange={(e) => {
            setCursors([]);
            setStatus(e.currentTarget.value as MembershipStatus | '');
          }}
          data={[
            { value: '', label: t('common.any') },
            ...MEMBERSHIP_STATUSES.map((s) => ({ value: s, label: t(`programmes.status.${s}`) })),
          ]}
          maw={240}
        />
        <ErrorAlert error={list.error ?? change.error} />
        {list.isPending ? (
          <Loading />
        ) : (list.data?.data ?? []).length === 0 ? (
          <Text c="dimmed">{t('common.none')}</Text>
        ) : (
          <Table striped aria-label={t('programmes.memberships', { name: programme.name })}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('programmes.beneficiary')}</Table.Th>
                <Table.Th>{t('common.status')}</Table.Th>
                <Table.Th>{t('programmes.enrolled')}</Table.Th>
                <Table.Th>{t('common.actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.data ?? []).map((m) => (
                <Table.Tr key={m.membership_id} data-testid="membership-row">
                  <Table.Td>
                    <Anchor
                      component={Link}
                      to={`/${m.beneficiary_type === 'household' ? 'households' : 'persons'}/${m.beneficiary}`}
                    >
                      {m.beneficiary.slice(0, 8)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={m.status} />
                  </Table.Td>
                  <Table.Td>{formatDate(m.enrollment_date)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      {writable &&
                        MEMBERSHIP_TRANSITIONS[m.status as MembershipStatus].map((to) => (
                          <Button
                            key={to}
                            size="xs"
                            variant="light"
                            onClick={() =>
                              to === 'exited'
                                ? setExiting(m.membership_id)
                                : change.mutate({ id: m.membership_id, to })
                            }
                          >
                            {t(`programmes.to.${to}`)}
                          </Button>
                        ))}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Pager cursors={cursors} next={list.data?.next_cursor} onChange={setCursors} />
      </Stack>
      <ReasonDialog
        opened={exiting !== null}
        title={t('programmes.exitTitle')}
        codes={GENERIC_REASON_CODES}
        confirmLabel={t('programmes.to.exited')}
        busy={change.isPending}
        error={change.error}
        onClose={() => setExiting(null)}
        onConfirm={(reason) => exiting && change.mutate({ id: exiting, to: 'exited', reason })}
      />
    </Paper>
  );
}

/** Programmes of the tenant and, for the one chosen, its enrolment list. */
export function Programmes() {
  const { t } = useTranslation();
  const [chosen, setChosen] = useState<Programme | null>(null);
  const list = useQuery({
    queryKey: ['programmes'],
    queryFn: async () => unwrap(await api.GET('/api/v1/programs', { params: { query: { limit: 200 } } })),
  });
  return (
    <Stack>
      <Title order={2}>{t('programmes.title')}</Title>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <Loading />
      ) : (
        <Table striped aria-label={t('programmes.title')}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('common.name')}</Table.Th>
              <Table.Th>{t('programmes.code')}</Table.Th>
              <Table.Th>{t('programmes.area')}</Table.Th>
              <Table.Th>{t('programmes.target')}</Table.Th>
              <Table.Th>{t('common.status')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(list.data?.data ?? []).map((p) => (
              <Table.Tr key={p.program_id}>
                <Table.Td>
                  <Anchor component="button" type="button" onClick={() => setChosen(p)}>
                    {p.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{p.code}</Table.Td>
                <Table.Td>{p.vertical_code}</Table.Td>
                <Table.Td>{t(`programmes.targetType.${p.target_type}`)}</Table.Td>
                <Table.Td>
                  <StatusBadge status={p.status} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {chosen && <Memberships key={chosen.program_id} programme={chosen} />}
    </Stack>
  );
}
