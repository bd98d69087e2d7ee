import { Button, Group, Modal, NativeSelect, Stack, Textarea } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from './ui';

/** Asks for a reason code (and optional text) before a state change such as archive or reject. */
export function ReasonDialog({
  opened,
  title,
  codes,
  confirmLabel,
  busy,
  error,
  onClose,
  onConfirm,
}: {
  opened: boolean;
  title: string;
  codes: readonly string[];
  confirmLabel: string;
  busy: boolean;
  error: unknown;
  onClose(): void;
  onConfirm(reason: { reason_code: string; reason_text?: string }): void;
}) {
  const { t } = useTranslation();
  const [code, setCode] = useState(codes[0]);
  const [text, setText] = useState('');
  function submit(e: FormEvent) {
    e.preventDefault();
    onConfirm({ reason_code: code, ...(text.trim() ? { reason_text: text.trim() } : {}) });
  }
  return (
    <Modal opened={opened} onClose={onClose} title={title}>
      <form onSubmit={submit}>
        <Stack>
          <NativeSelect
            label={t('common.reasonCode')}
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
            data={codes.map((c) => ({ value: c, label: t(`reasons.${c}`, { defaultValue: c }) }))}
          />
          <Textarea
            label={t('common.reasonText')}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
          />
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" loading={busy}>
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
