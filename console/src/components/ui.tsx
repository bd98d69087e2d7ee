import { Alert, Badge, Button, Group, Loader, Table, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

/** The problem an API call answered, in words, with its correlation id for support. */
export function ErrorAlert({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : null;
  return (
    <Alert color="red" role="alert" title={problem?.title ?? t('common.error')}>
      <Text size="sm">{problem?.detail ?? (error instanceof Error ? error.message : String(error))}</Text>
      {problem?.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={`${e.field}:${e.message}`}>
              <Text size="sm" span>
                {e.field}: {e.message}
              </Text>
            </li>
          ))}
        </ul>
      )}
      {problem?.correlation_id && (
        <Text size="xs" c="dimmed">
          {t('common.reference', { id: problem.correlation_id })}
        </Text>
      )}
    </Alert>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return <Loader aria-label={t('common.loading')} size="sm" />;
}

const STATUS_COLORS: Record<string, string> = {
  active: 'green',
  verified: 'green',
  completed: 'green',
  approved: 'teal',
  reviewed: 'cyan',
  requested: 'blue',
  pending: 'yellow',
  provisional: 'yellow',
  draft: 'gray',
  running: 'blue',
  queued: 'gray',
  archived: 'gray',
  rejected: 'red',
  failed: 'red',
  suspended: 'red',
  restricted: 'orange',
  withdrawn: 'orange',
  expired: 'orange',
  deprecated: 'orange',
};

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray'} variant="light" autoContrast>
      {t(`status.${status}`, { defaultValue: status })}
    </Badge>
  );
}

/** A value the API masked or withheld for this reader, said so rather than shown empty. */
export function Masked({ reason }: { reason?: string }) {
  const { t } = useTranslation();
  return (
    <Badge color="gray" variant="outline" title={reason}>
      {t('common.masked')}
    </Badge>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={220} scope="row">
        {label}
      </Table.Th>
      <Table.Td>{children ?? '—'}</Table.Td>
    </Table.Tr>
  );
}

/** "Next page" for cursor-paged lists: the API's opaque next_cursor, kept in a stack to go back. */
export function Pager({
  cursors,
  next,
  onChange,
}: {
  cursors: string[];
  next: string | null | undefined;
  onChange(cursors: string[]): void;
}) {
  const { t } = useTranslation();
  return (
    <Group justify="flex-end">
      <Button
        variant="default"
        disabled={cursors.length === 0}
        onClick={() => onChange(cursors.slice(0, -1))}
      >
        {t('common.previous')}
      </Button>
      <Button variant="default" disabled={!next} onClick={() => next && onChange([...cursors, next])}>
        {t('common.next')}
      </Button>
    </Group>
  );
}

export function formatDate(value: string | null | undefined, withTime = false): string {
  if (!value) return '—';
  const d = new Date(value);
  return withTime ? d.toLocaleString() : d.toLocaleDateString();
}
