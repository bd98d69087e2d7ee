import { Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useSession } from '../api/session';

export function Dashboard() {
  const { t } = useTranslation();
  const { session } = useSession();
  return (
    <Stack>
      <Title order={2}>{t('dashboard.title')}</Title>
      <Text>{t('dashboard.welcome', { name: session?.user.display_name ?? session?.user.username })}</Text>
    </Stack>
  );
}
