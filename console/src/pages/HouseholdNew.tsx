import { Button, Group, Paper, Stack, TextInput, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../api/client';
import { type PersonFields, PersonInputs, personBody, useFieldErrors } from '../components/PersonForm';
import { ErrorAlert } from '../components/ui';

const EMPTY_HEAD: PersonFields = {
  full_name: '',
  given_name: '',
  family_name: '',
  date_of_birth: '',
  gender: '',
  identity_type: 'national_id',
  identity_number: '',
  phone: '',
};

/** A household and its head in one form: the head is registered first, then leads the household. */
export function HouseholdNew() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [head, setHead] = useState<PersonFields>(EMPTY_HEAD);
  const [headId, setHeadId] = useState<string | null>(null);
  const registerHead = useMutation({
    mutationFn: async () => unwrap(await api.POST('/api/v1/persons', { body: personBody(head) })).person_id,
  });
  const createHousehold = useMutation({
    mutationFn: async (leaderId: string) =>
      unwrap(await api.POST('/api/v1/households', { body: { household_name: name, leader_id: leaderId } })),
    onSuccess: (h) => navigate(`/households/${h.household_id}`),
  });
  const householdError = useFieldErrors(createHousehold.error);

  async function submit(e: FormEvent) {
    e.preventDefault();
    // A head registered by an earlier attempt is reused when only the household failed.
    const leader = headId ?? (await registerHead.mutateAsync().catch(() => null));
    if (!leader) return;
    setHeadId(leader);
    createHousehold.mutate(leader);
  }

  return (
    <Stack>
      <Title order={2}>{t('households.register')}</Title>
      <Paper withBorder p="md">
        <form onSubmit={submit} noValidate>
          <Stack>
            <TextInput
              label={t('households.name')}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={householdError('household_name')}
            />
            <Title order={3} size="h4">
              {t('households.head')}
            </Title>
            {headId ? (
              <TextInput label={t('households.head')} value={head.full_name} readOnly />
            ) : (
              <PersonInputs value={head} onChange={setHead} error={registerHead.error} />
            )}
            <ErrorAlert error={registerHead.error ?? createHousehold.error} />
            <Group>
              <Button type="submit" loading={registerHead.isPending || createHousehold.isPending}>
                {t('households.registerButton')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
