import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Code,
  Group,
  Modal,
  NativeSelect,
  Paper,
  ScrollArea,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useVerticals } from '../api/hooks';
import { useCan, useSession } from '../api/session';
import { useFieldErrors } from '../components/PersonForm';
import { ReasonDialog } from '../components/ReasonDialog';
import { ErrorAlert, Loading } from '../components/ui';
import { GENERIC_REASON_CODES } from '../lib/reasons';

type PartnerType = 'government' | 'NGO' | 'private' | 'international';
const PARTNER_TYPES: PartnerType[] = ['government', 'NGO', 'private', 'international'];
const COLUMNS = [
  'draft',
  'requested',
  'reviewed',
  'approved',
  'active',
  'restricted',
  'suspended',
  'deprecated',
  'archived',
] as const;
type Status = (typeof COLUMNS)[number];

type Action =
  | 'request'
  | 'review'
  | 'return'
  | 'approve'
  | 'activate'
  | 'restrict'
  | 'suspend'
  | 'deprecate'
  | 'archive';

/** Which lifecycle actions a status allows, and the scope each needs (the API decides; this only shows). */
const ACTIONS: Record<Status, Action[]> = {
  draft: ['request', 'archive'],
  requested: ['review', 'return'],
  reviewed: ['approve'],
  approved: ['activate', 'archive'],
  active: ['restrict', 'suspend', 'deprecate'],
  restricted: ['activate', 'suspend', 'deprecate'],
  suspended: ['activate', 'deprecate'],
  deprecated: ['archive'],
  archived: [],
};
const ACTION_SCOPE: Record<Action, string> = {
  request: 'integrations:manage',
  review: 'integrations:review',
  return: 'integrations:review',
  approve: 'integrations:approve',
  activate: 'integrations:manage',
  restrict: 'integrations:manage',
  suspend: 'integrations:manage',
  deprecate: 'integrations:manage',
  archive: 'integrations:manage',
};
const NEEDS_REASON: Action[] = ['request', 'approve', 'restrict', 'suspend', 'deprecate', 'archive'];

interface Integration {
  integration_id: string;
  integration_name: string;
  partner_name: string;
  status: string;
  requested_by: string | null;
  reviewed_by: string | null;
  approved_by: string | null;
}

function CreateIntegration({ onDone }: { onDone(): void }) {
  const { t } = useTranslation();
  const verticals = useVerticals();
  const [name, setName] = useState('');
  const [partner, setPartner] = useState('');
  const [partnerType, setPartnerType] = useState<PartnerType>('government');
  const [verticalIds, setVerticalIds] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/api/v1/integrations', {
          body: {
            integration_name: name,
            partner_name: partner,
            partner_type: partnerType,
            vertical_ids: verticalIds,
            active_from: new Date().toISOString(),
          },
        }),
      ),
    onSuccess: () => {
      setName('');
      setPartner('');
      onDone();
    },
  });
  const fieldError = useFieldErrors(create.error);
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={3} size="h4">
            {t('integrations.new')}
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label={t('integrations.name')}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={fieldError('integration_name')}
            />
            <TextInput
              label={t('integrations.partner')}
              required
              value={partner}
              onChange={(e) => setPartner(e.currentTarget.value)}
              error={fieldError('partner_name')}
            />
            <NativeSelect
              label={t('integrations.partnerType')}
              value={partnerType}
              onChange={(e) => setPartnerType(e.currentTarget.value as PartnerType)}
              data={PARTNER_TYPES.map((p) => ({ value: p, label: t(`integrations.partnerTypes.${p}`) }))}
            />
            <Checkbox.Group
              label={t('integrations.verticals')}
              value={verticalIds}
              onChange={setVerticalIds}
              error={fieldError('vertical_ids')}
            >
              <Group gap="sm" mt={4} data-testid="vertical-choices">
                {(verticals.data ?? []).map((v) => (
                  <Checkbox key={v.vertical_id} value={v.vertical_id} label={v.name} />
                ))}
              </Group>
            </Checkbox.Group>
          </SimpleGrid>
          <ErrorAlert error={create.error} />
          <Group>
            <Button type="submit" loading={create.isPending}>
              {t('integrations.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}

/** Why a user may not take an action the API would refuse for separation of duties. */
function separationBlock(
  action: Action,
  i: Integration,
  isMe: (actor: string | null) => boolean,
): string | null {
  if ((action === 'review' || action === 'return') && isMe(i.requested_by)) return 'integrations.sodReview';
  if (action === 'approve' && isMe(i.requested_by)) return 'integrations.sodApproveRequested';
  if (action === 'approve' && isMe(i.reviewed_by)) return 'integrations.sodApproveReviewed';
  return null;
}

function IntegrationCard({
  i,
  onAction,
}: {
  i: Integration;
  onAction(action: Action, i: Integration): void;
}) {
  const { t } = useTranslation();
  const can = useCan();
  const { session } = useSession();
  // A signed-in user acts as `user:<username>` (the actor recorded in requested_by and reviewed_by).
  const isMe = (actor: string | null) =>
    !!session && !!actor && (actor === session.user.id || actor === `user:${session.user.username}`);
  const actions = (ACTIONS[i.status as Status] ?? []).filter((a) => can(ACTION_SCOPE[a]));
  const who = (id: string | null) =>
    id ? (isMe(id) ? t('integrations.you') : id.startsWith('user:') ? id.slice(5) : id.slice(0, 12)) : '—';
  return (
    <Card withBorder padding="sm" data-testid="integration-card" data-status={i.status}>
      <Stack gap={6}>
        <Anchor component={Link} to={`/integrations/${i.integration_id}`} fw={700}>
          {i.integration_name}
        </Anchor>
        <Text size="sm">{i.partner_name}</Text>
        <Text size="xs" c="dimmed">
          {t('integrations.requestedBy')}: {who(i.requested_by)} · {t('integrations.reviewedBy')}:{' '}
          {who(i.reviewed_by)} · {t('integrations.approvedBy')}: {who(i.approved_by)}
        </Text>
        {[...new Set(actions.map((a) => separationBlock(a, i, isMe)).filter((n) => n !== null))].map(
          (note) => (
            <Text key={note} size="xs" c="orange.9" data-testid="sod-note">
              {t(note)}
            </Text>
          ),
        )}
        {actions.map((a) => {
          if (separationBlock(a, i, isMe)) return null;
          return (
            <Button
              key={a}
              size="xs"
              variant={
                a === 'return' || (NEEDS_REASON.includes(a) && a !== 'request' && a !== 'approve')
                  ? 'outline'
                  : 'filled'
              }
              onClick={() => onAction(a, i)}
            >
              {t(`integrations.actions.${a}`)}
            </Button>
          );
        })}
      </Stack>
    </Card>
  );
}

export function Integrations() {
  const { t } = useTranslation();
  const can = useCan();
  const queryClient = useQueryClient();
  const [pending, setPending] = useState<{ action: Action; i: Integration } | null>(null);
  const [secret, setSecret] = useState<{ clientId: string | null; secret: string } | null>(null);
  const list = useQuery({
    queryKey: ['integrations'],
    queryFn: async () => unwrap(await api.GET('/api/v1/integrations', { params: { query: { limit: 200 } } })),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['integrations'] });
  const act = useMutation({
    mutationFn: async (v: {
      action: Action;
      id: string;
      reason?: { reason_code: string; reason_text?: string };
    }) => {
      const path = { params: { path: { integration_id: v.id } } };
      const r = v.reason;
      switch (v.action) {
        case 'request':
          return unwrap(
            await api.POST('/api/v1/integrations/{integration_id}/request-review', {
              ...path,
              body: {
                request_reason_code: r?.reason_code ?? 'OTHER',
                ...(r?.reason_text ? { request_reason_text: r.reason_text } : {}),
              },
            }),
          );
        case 'review':
        case 'return':
          return unwrap(
            await api.POST('/api/v1/integrations/{integration_id}/review', {
              ...path,
              body: { decision: v.action === 'review' ? 'reviewed' : 'returned' },
            }),
          );
        case 'approve':
          return unwrap(
            await api.POST('/api/v1/integrations/{integration_id}/approve', {
              ...path,
              body: {
                approval_reason_code: r?.reason_code ?? 'OTHER',
                ...(r?.reason_text ? { approval_reason_text: r.reason_text } : {}),
              },
            }),
          );
        case 'activate': {
          const body = unwrap(
            await api.POST('/api/v1/integrations/{integration_id}/activate', { ...path, body: {} }),
          );
          if (body.client_secret) setSecret({ clientId: body.auth_client_id, secret: body.client_secret });
          return body;
        }
        default: {
          const paths = {
            restrict: '/api/v1/integrations/{integration_id}/restrict',
            suspend: '/api/v1/integrations/{integration_id}/suspend',
            deprecate: '/api/v1/integrations/{integration_id}/deprecate',
            archive: '/api/v1/integrations/{integration_id}/archive',
          } as const;
          return unwrap(
            await api.POST(paths[v.action], {
              ...path,
              body: {
                reason_code: r?.reason_code ?? 'OTHER',
                ...(r?.reason_text ? { reason_text: r.reason_text } : {}),
              },
            }),
          );
        }
      }
    },
    onSuccess: () => {
      setPending(null);
      refresh();
    },
  });

  function onAction(action: Action, i: Integration) {
    if (NEEDS_REASON.includes(action)) setPending({ action, i });
    else act.mutate({ action, id: i.integration_id });
  }

  const byStatus = (s: Status) => (list.data?.data ?? []).filter((i) => i.status === s);
  return (
    <Stack>
      <Title order={2}>{t('integrations.title')}</Title>
      <Text size="sm">{t('integrations.sodExplain')}</Text>
      {!pending && <ErrorAlert error={act.error} />}
      {list.isPending ? (
        <Loading />
      ) : (
        <ScrollArea type="auto" offsetScrollbars>
          <Group align="flex-start" wrap="nowrap" gap="sm" role="list" aria-label={t('integrations.board')}>
            {COLUMNS.map((s) => (
              <Paper
                key={s}
                withBorder
                p="xs"
                miw={220}
                w={220}
                bg="gray.0"
                role="listitem"
                aria-label={t(`status.${s}`)}
              >
                <Group justify="space-between" mb="xs">
                  <Title order={3} size="h5">
                    {t(`status.${s}`)}
                  </Title>
                  <Badge variant="light" color="gray" autoContrast>
                    {byStatus(s).length}
                  </Badge>
                </Group>
                <Stack gap="xs">
                  {byStatus(s).map((i) => (
                    <IntegrationCard key={i.integration_id} i={i} onAction={onAction} />
                  ))}
                </Stack>
              </Paper>
            ))}
          </Group>
        </ScrollArea>
      )}
      <ErrorAlert error={list.error} />
      {can('integrations:manage') && <CreateIntegration onDone={refresh} />}
      <ReasonDialog
        opened={pending !== null}
        title={pending ? t(`integrations.actions.${pending.action}`) : ''}
        codes={GENERIC_REASON_CODES}
        confirmLabel={pending ? t(`integrations.actions.${pending.action}`) : ''}
        busy={act.isPending}
        error={act.error}
        onClose={() => setPending(null)}
        onConfirm={(reason) =>
          pending && act.mutate({ action: pending.action, id: pending.i.integration_id, reason })
        }
      />
      <Modal opened={secret !== null} onClose={() => setSecret(null)} title={t('integrations.secretTitle')}>
        <Stack>
          <Alert color="yellow">{t('integrations.secretOnce')}</Alert>
          <Text size="sm">{t('integrations.clientId')}</Text>
          <Code block>{secret?.clientId}</Code>
          <Text size="sm">{t('integrations.secret')}</Text>
          <Code block data-testid="client-secret">
            {secret?.secret}
          </Code>
          <Button onClick={() => setSecret(null)}>{t('common.close')}</Button>
        </Stack>
      </Modal>
    </Stack>
  );
}
