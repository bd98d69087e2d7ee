import { Table } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { ErrorAlert, formatDate, Loading, StatusBadge } from './ui';

/** Audit events about one resource (a person, a household, an integration). */
export function AuditTrail({ resourceId }: { resourceId: string }) {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['audit', resourceId],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/audit-events', { params: { query: { resource_id: resourceId, limit: 100 } } }),
      ),
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} />;
  return (
    <Table.ScrollContainer minWidth={500}>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('audit.when')}</Table.Th>
            <Table.Th>{t('audit.action')}</Table.Th>
            <Table.Th>{t('audit.actor')}</Table.Th>
            <Table.Th>{t('audit.outcome')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {q.data.data.map((e) => (
            <Table.Tr key={e.event_id}>
              <Table.Td>{formatDate(e.timestamp, true)}</Table.Td>
              <Table.Td>{e.action}</Table.Td>
              <Table.Td>{e.actor_id ?? '—'}</Table.Td>
              <Table.Td>
                <StatusBadge
                  status={
                    e.outcome === 'success' ? 'completed' : e.outcome === 'denied' ? 'rejected' : 'failed'
                  }
                />
              </Table.Td>
            </Table.Tr>
          ))}
          {q.data.data.length === 0 && (
            <Table.Tr>
              <Table.Td colSpan={4}>{t('common.none')}</Table.Td>
            </Table.Tr>
          )}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
