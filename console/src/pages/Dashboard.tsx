import { BarChart } from '@mantine/charts';
import { Alert, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { useVocabulary } from '../api/hooks';
import { useCan, useSession } from '../api/session';
import { ErrorAlert, Loading, StatusBadge } from '../components/ui';

/** One figure with its label; the label names the number for screen readers too. */
function Figure({ label, value, hint }: { label: string; value: number | undefined; hint?: string }) {
  const { i18n } = useTranslation();
  return (
    <Paper withBorder p="md" role="group" aria-label={label}>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text fz={28} fw={700}>
        {value === undefined ? '–' : value.toLocaleString(i18n.language)}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}

/**
 * A chart with a heading, and its figures as a list under `aria-label`: the SVG itself says
 * nothing to a screen reader.
 */
function Chart({
  title,
  data,
  labelKey,
}: {
  title: string;
  data: Record<string, string | number>[];
  labelKey: string;
}) {
  const { t } = useTranslation();
  const described = data.map((d) => `${d[labelKey]}: ${d.count}`).join(', ');
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h5" mb="sm">
        {title}
      </Title>
      <div role="img" aria-label={`${title}. ${described}`}>
        <BarChart
          h={200}
          data={data}
          dataKey={labelKey}
          series={[{ name: 'count', label: t('dashboard.count'), color: 'blue.8' }]}
          tickLine="y"
          yAxisProps={{ allowDecimals: false }}
        />
      </div>
    </Paper>
  );
}

function useStats<T>(key: string, enabled: boolean, fetcher: () => Promise<T>) {
  return useQuery({ queryKey: ['stats', key], enabled, queryFn: fetcher, staleTime: 30_000 });
}

export function Dashboard() {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const can = useCan();
  // Statistics are per tenant; a ROOT user outside any tenant has none to show.
  const inTenant = Boolean(session?.user.tenant_id);
  const persons = useStats('persons', inTenant && can('persons:read'), async () =>
    unwrap(await api.GET('/api/v1/stats/persons')),
  );
  const households = useStats('households', inTenant && can('households:read'), async () =>
    unwrap(await api.GET('/api/v1/stats/households')),
  );
  const consents = useStats('consents', inTenant && can('consents:read'), async () =>
    unwrap(await api.GET('/api/v1/stats/consents')),
  );
  const imports = useStats('imports', inTenant && can('persons:write'), async () =>
    unwrap(await api.GET('/api/v1/stats/imports')),
  );
  const integrations = useStats('integrations', inTenant && can('integrations:read'), async () =>
    unwrap(await api.GET('/api/v1/stats/integrations')),
  );
  const named = { persons, households, consents, imports, integrations };
  const all = Object.values(named);
  const genders = useVocabulary('gender');
  const genderName = (code: string | null) =>
    code === null ? t('dashboard.notRecorded') : (genders.data?.find((g) => g.value === code)?.label ?? code);
  const monthName = (month: string) =>
    new Date(`${month}-01T00:00:00Z`).toLocaleDateString(i18n.language, {
      month: 'short',
      year: '2-digit',
      timeZone: 'UTC',
    });
  const activeConsents = consents.data?.by_status.find((s) => s.status === 'active')?.count ?? 0;
  const activeIntegrations = integrations.data?.by_status.find((s) => s.status === 'active')?.count ?? 0;

  return (
    <Stack>
      <Title order={2}>{t('dashboard.title')}</Title>
      <Text>{t('dashboard.welcome', { name: session?.user.display_name ?? session?.user.username })}</Text>
      {!inTenant && <Alert color="gray">{t('dashboard.noTenant')}</Alert>}
      {all.some((q) => q.isLoading) && <Loading />}
      {Object.entries(named).map(([name, q]) => (q.error ? <ErrorAlert key={name} error={q.error} /> : null))}

      <section aria-labelledby="dashboard-figures">
        <Title order={3} size="h4" id="dashboard-figures" mb="sm">
          {t('dashboard.figures')}
        </Title>
        <SimpleGrid cols={{ base: 2, sm: 3, lg: 4 }}>
          {persons.data && (
            <Figure
              label={t('dashboard.persons')}
              value={persons.data.active}
              hint={t('dashboard.personsHint', { total: persons.data.total.toLocaleString(i18n.language) })}
            />
          )}
          {households.data && <Figure label={t('dashboard.households')} value={households.data.total} />}
          {consents.data && (
            <>
              <Figure label={t('dashboard.activeConsents')} value={activeConsents} />
              <Figure
                label={t('dashboard.expiringSoon')}
                value={consents.data.expiring_soon}
                hint={t('dashboard.withinDays', { count: consents.data.expiring_within_days })}
              />
              <Figure label={t('dashboard.inGrace')} value={consents.data.in_grace} />
            </>
          )}
          {imports.data && (
            <Figure
              label={t('dashboard.importRuns')}
              value={imports.data.runs}
              hint={t('dashboard.importRows', {
                created: imports.data.rows_created.toLocaleString(i18n.language),
                rejected: imports.data.rows_rejected.toLocaleString(i18n.language),
              })}
            />
          )}
          {integrations.data && (
            <Figure
              label={t('dashboard.activeIntegrations')}
              value={activeIntegrations}
              hint={t('dashboard.ofTotal', { total: integrations.data.total })}
            />
          )}
        </SimpleGrid>
      </section>

      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {persons.data && (
          <Chart
            title={t('dashboard.registrations')}
            labelKey="month"
            data={persons.data.by_registration_month.map((m) => ({
              month: monthName(m.month),
              count: m.count,
            }))}
          />
        )}
        {persons.data &&
          (persons.data.by_age_band ? (
            <Chart
              title={t('dashboard.ageBands')}
              labelKey="band"
              data={persons.data.by_age_band.map((b) => ({
                band: t(`dashboard.band.${b.band}`, { defaultValue: b.band }),
                count: b.count,
              }))}
            />
          ) : (
            <Paper withBorder p="md">
              <Title order={3} size="h5" mb="sm">
                {t('dashboard.ageBands')}
              </Title>
              <Text size="sm" c="dimmed">
                {t('dashboard.withheld')}
              </Text>
            </Paper>
          ))}
        {persons.data && (
          <Paper withBorder p="md">
            <Title order={3} size="h5" mb="sm">
              {t('dashboard.personsByStatus')}
            </Title>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('common.status')}</Table.Th>
                  <Table.Th>{t('dashboard.verification')}</Table.Th>
                  <Table.Th ta="right">{t('dashboard.count')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {persons.data.by_status.map((s) => (
                  <Table.Tr key={`${s.status}-${s.verification_status}`}>
                    <Table.Td>
                      <StatusBadge status={s.status} />
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge status={s.verification_status} />
                    </Table.Td>
                    <Table.Td ta="right">{s.count.toLocaleString(i18n.language)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Title order={4} size="h6" mt="md" mb="xs">
              {t('dashboard.gender')}
            </Title>
            {persons.data.by_gender ? (
              <Table>
                <Table.Tbody>
                  {persons.data.by_gender.map((g) => (
                    <Table.Tr key={g.gender ?? 'none'}>
                      <Table.Td>{genderName(g.gender)}</Table.Td>
                      <Table.Td ta="right">{g.count.toLocaleString(i18n.language)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            ) : (
              <Text size="sm" c="dimmed">
                {t('dashboard.withheld')}
              </Text>
            )}
          </Paper>
        )}
        {consents.data && (
          <Paper withBorder p="md">
            <Title order={3} size="h5" mb="sm">
              {t('dashboard.consentsByVertical')}
            </Title>
            {consents.data.by_vertical.length === 0 ? (
              <Text size="sm" c="dimmed">
                {t('dashboard.none')}
              </Text>
            ) : (
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('dashboard.vertical')}</Table.Th>
                    <Table.Th>{t('common.status')}</Table.Th>
                    <Table.Th ta="right">{t('dashboard.count')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {consents.data.by_vertical.map((v) => (
                    <Table.Tr key={`${v.vertical_id}-${v.status}`}>
                      <Table.Td>{v.vertical_code}</Table.Td>
                      <Table.Td>
                        <StatusBadge status={v.status} />
                      </Table.Td>
                      <Table.Td ta="right">{v.count.toLocaleString(i18n.language)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
        )}
        {integrations.data && integrations.data.total > 0 && (
          <Chart
            title={t('dashboard.integrationsByState')}
            labelKey="status"
            data={integrations.data.by_status.map((s) => ({
              status: t(`status.${s.status}`, { defaultValue: s.status }),
              count: s.count,
            }))}
          />
        )}
        {households.data && households.data.total > 0 && (
          <Chart
            title={t('dashboard.householdsByStatus')}
            labelKey="status"
            data={households.data.by_status.map((s) => ({
              status: t(`status.${s.status}`, { defaultValue: s.status }),
              count: s.count,
            }))}
          />
        )}
      </SimpleGrid>
    </Stack>
  );
}
