import { Button, Group, NativeSelect, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, unwrap } from '../api/client';
import { useVocabulary } from '../api/hooks';
import { ErrorAlert } from './ui';

export interface PersonFields {
  full_name: string;
  given_name: string;
  family_name: string;
  date_of_birth: string;
  gender: string;
  identity_type: string;
  identity_number: string;
  phone: string;
}

const EMPTY: PersonFields = {
  full_name: '',
  given_name: '',
  family_name: '',
  date_of_birth: '',
  gender: '',
  identity_type: 'national_id',
  identity_number: '',
  phone: '',
};

/** The registration body: empty inputs are left out so the API's own rules decide what is required. */
export function personBody(f: PersonFields) {
  return {
    full_name: f.full_name,
    // Left out when not chosen so the API names the missing field ("is required").
    gender: (f.gender || undefined) as string,
    ...(f.given_name ? { given_name: f.given_name } : {}),
    ...(f.family_name ? { family_name: f.family_name } : {}),
    ...(f.date_of_birth ? { date_of_birth: f.date_of_birth } : {}),
    ...(f.identity_number ? { identity_type: f.identity_type, identity_number: f.identity_number } : {}),
    ...(f.phone ? { contacts: [{ type: 'phone', value: f.phone, primary: true }] } : {}),
  };
}

/** Messages the API gave per field, under the input they concern. */
export function useFieldErrors(error: unknown): (field: string) => string | undefined {
  const errors = error instanceof ApiError ? error.fieldErrors() : {};
  return (field) =>
    errors[field] ??
    Object.entries(errors).find(([k]) => k.startsWith(`${field}.`) || k.startsWith(`${field}[`))?.[1];
}

export function PersonInputs({
  value,
  onChange,
  error,
  withMembership,
}: {
  value: PersonFields & { relationship_type?: string };
  onChange(v: PersonFields & { relationship_type?: string }): void;
  error: unknown;
  withMembership?: boolean;
}) {
  const { t } = useTranslation();
  const gender = useVocabulary('gender');
  const idTypes = useVocabulary('id-type');
  const roles = useVocabulary('membership-role');
  const fieldError = useFieldErrors(error);
  const set = (k: keyof PersonFields | 'relationship_type') => (e: { currentTarget: { value: string } }) =>
    onChange({ ...value, [k]: e.currentTarget.value });
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      <TextInput
        label={t('persons.fullName')}
        required
        value={value.full_name}
        onChange={set('full_name')}
        error={fieldError('full_name')}
      />
      <NativeSelect
        label={t('persons.gender')}
        required
        value={value.gender}
        onChange={set('gender')}
        error={fieldError('gender')}
        data={[{ value: '', label: t('common.choose') }, ...(gender.data ?? [])]}
      />
      <TextInput
        label={t('persons.givenName')}
        value={value.given_name}
        onChange={set('given_name')}
        error={fieldError('given_name')}
      />
      <TextInput
        label={t('persons.familyName')}
        value={value.family_name}
        onChange={set('family_name')}
        error={fieldError('family_name')}
      />
      <TextInput
        label={t('persons.dateOfBirth')}
        type="date"
        value={value.date_of_birth}
        onChange={set('date_of_birth')}
        error={fieldError('date_of_birth')}
      />
      <TextInput
        label={t('persons.phone')}
        type="tel"
        value={value.phone}
        onChange={set('phone')}
        error={fieldError('contacts')}
      />
      <NativeSelect
        label={t('persons.identityType')}
        value={value.identity_type}
        onChange={set('identity_type')}
        error={fieldError('identity_type')}
        data={idTypes.data ?? [{ value: 'national_id', label: 'National ID' }]}
      />
      <TextInput
        label={t('persons.identityNumber')}
        value={value.identity_number}
        onChange={set('identity_number')}
        error={fieldError('identity_number') ?? fieldError('identities')}
      />
      {withMembership && (
        <NativeSelect
          label={t('households.role')}
          value={value.relationship_type ?? 'member'}
          onChange={set('relationship_type')}
          error={fieldError('relationship_type')}
          data={(roles.data ?? [{ value: 'member', label: 'Member' }]).filter((r) => r.value !== 'head')}
        />
      )}
    </SimpleGrid>
  );
}

/** Registers a person (optionally straight into a household) and hands back the new id. */
export function PersonForm({
  householdId,
  submitLabel,
  onCreated,
}: {
  householdId?: string;
  submitLabel: string;
  onCreated(personId: string): void;
}) {
  const [value, setValue] = useState<PersonFields & { relationship_type?: string }>({
    ...EMPTY,
    relationship_type: householdId ? 'member' : undefined,
  });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/api/v1/persons', {
          body: {
            ...personBody(value),
            ...(householdId
              ? { household_id: householdId, relationship_type: value.relationship_type ?? 'member' }
              : {}),
          },
        }),
      ),
    onSuccess: (p) => {
      setValue({ ...EMPTY, relationship_type: householdId ? 'member' : undefined });
      onCreated(p.person_id);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <PersonInputs value={value} onChange={setValue} error={create.error} withMembership={!!householdId} />
        <ErrorAlert error={create.error} />
        <Group>
          <Button type="submit" loading={create.isPending}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
