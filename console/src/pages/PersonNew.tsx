import { Paper, Stack, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { PersonForm } from '../components/PersonForm';

export function PersonNew() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  return (
    <Stack>
      <Title order={2}>{t('persons.register')}</Title>
      <Paper withBorder p="md">
        <PersonForm
          submitLabel={t('persons.registerButton')}
          onCreated={(id) => navigate(`/persons/${id}`)}
        />
      </Paper>
    </Stack>
  );
}
