import {
  Alert,
  Button,
  Group,
  NativeSelect,
  Paper,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../api/client';
import { ErrorAlert, Loading } from '../components/ui';

const CLASSES = ['basic', 'personal', 'sensitive'] as const;
const STAGES = ['registration', 'consent', 'never'] as const;

/**
 * The tenant's access policy: the classification of each person field and the role ×
 * classification table. Each change is one PATCH, applied at once in every process and audited.
 */
export function AccessPolicy() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const policy = useQuery({
    queryKey: ['access-policy'],
    queryFn: async () => unwrap(await api.GET('/api/v1/access-policy')),
  });
  const patch = useMutation({
    mutationFn: async (body: {
      field_classification?: Record<string, (typeof CLASSES)[number]>;
      role_field_access?: Record<
        string,
        { personal?: (typeof STAGES)[number]; sensitive?: (typeof STAGES)[number] }
      >;
      separation_of_duties?: boolean;
    }) => unwrap(await api.PATCH('/api/v1/access-policy', { body })),
    onSuccess: (data) => queryClient.setQueryData(['access-policy'], data),
  });
  if (policy.isPending) return <Loading />;
  if (!policy.data) return <ErrorAlert error={policy.error} />;
  const p = policy.data;
  return (
    <Stack>
      <Title order={2}>{t('policy.title')}</Title>
      <Text size="sm">{t('policy.help')}</Text>
      <ErrorAlert error={patch.error} />
      {patch.isSuccess && (
        <Alert color="green" role="status">
          {t('policy.saved')}
        </Alert>
      )}
      <Paper withBorder p="md">
        <Switch
          label={t('policy.separation')}
          checked={p.separation_of_duties}
          onChange={(e) => patch.mutate({ separation_of_duties: e.currentTarget.checked })}
        />
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          {t('policy.roles')}
        </Title>
        <Table aria-label={t('policy.roles')}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('users.roles')}</Table.Th>
              <Table.Th>{t('policy.class.personal')}</Table.Th>
              <Table.Th>{t('policy.class.sensitive')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {Object.entries(p.role_field_access).map(([role, access]) => (
              <Table.Tr key={role}>
                <Table.Td>{t(`users.role.${role}`, { defaultValue: role })}</Table.Td>
                {(['personal', 'sensitive'] as const).map((cls) => (
                  <Table.Td key={cls}>
                    <NativeSelect
                      aria-label={t('policy.cell', {
                        role: t(`users.role.${role}`, { defaultValue: role }),
                        class: t(`policy.class.${cls}`),
                      })}
                      value={access[cls]}
                      onChange={(e) =>
                        patch.mutate({
                          role_field_access: {
                            [role]: { [cls]: e.currentTarget.value as (typeof STAGES)[number] },
                          },
                        })
                      }
                      data={STAGES.map((s) => ({ value: s, label: t(`policy.stage.${s}`) }))}
                    />
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          {t('policy.fields')}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }}>
          {Object.entries(p.field_classification).map(([field, cls]) => (
            <Group key={field} justify="space-between" wrap="nowrap">
              <NativeSelect
                label={field}
                value={cls}
                onChange={(e) =>
                  patch.mutate({
                    field_classification: { [field]: e.currentTarget.value as (typeof CLASSES)[number] },
                  })
                }
                data={CLASSES.map((c) => ({ value: c, label: t(`policy.class.${c}`) }))}
                w="100%"
              />
              {field in p.overrides.field_classification && (
                <Text size="xs" c="dimmed">
                  {t('policy.changed')}
                </Text>
              )}
            </Group>
          ))}
        </SimpleGrid>
      </Paper>
      <Group>
        <Button variant="subtle" onClick={() => policy.refetch()}>
          {t('common.refresh')}
        </Button>
      </Group>
    </Stack>
  );
}
