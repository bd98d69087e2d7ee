import { type Static, Type } from 'typebox';
import { DateTime, Nullable, PageQuery, Uuid } from '../http/schemas.js';

export const IMPORT_STATUSES = [
  'queued',
  'validating',
  'running',
  'completed',
  'failed',
  'rolled_back',
] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
export const TERMINAL: readonly ImportStatus[] = ['completed', 'failed', 'rolled_back'];

export const ImportOptionsQuery = Type.Object(
  {
    on_duplicate: Type.Optional(
      Type.String({
        enum: ['reject', 'skip', 'update'],
        default: 'reject',
        description:
          'a row whose identity is already registered: reject it (default), skip it, or update that person ' +
          '(skip and update need an identity on every row)',
      }),
    ),
    mode: Type.Optional(
      Type.String({
        enum: ['all_or_nothing', 'best_effort'],
        default: 'all_or_nothing',
        description:
          'all_or_nothing (default): any rejected row rolls back the whole run; best_effort keeps the good rows',
      }),
    ),
    dry_run: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'validate and count only; nothing is written to the registry',
      }),
    ),
    filename: Type.Optional(
      Type.String({ maxLength: 255, description: 'name of the file, kept with the run' }),
    ),
  },
  { additionalProperties: false },
);
export type ImportOptionsQuery = Static<typeof ImportOptionsQuery>;

export const ImportCounts = Type.Object({
  rows_read: Type.Integer({ description: 'data rows in the file' }),
  valid: Type.Integer({ description: 'rows that passed every check so far' }),
  created: Type.Integer(),
  updated: Type.Integer(),
  skipped: Type.Integer({ description: 'duplicates skipped, and updates that changed nothing' }),
  rejected: Type.Integer({ description: 'rows with at least one error (see …/errors)' }),
});

export const ImportProgress = Type.Object({
  phase: Type.String({ enum: ['queued', 'validating', 'checking', 'applying', 'done'] }),
  rows_done: Type.Integer(),
  rows_total: Type.Integer(),
  percent: Type.Number({ minimum: 0, maximum: 100 }),
});

export const ImportView = Type.Object({
  import_id: Uuid(),
  status: Type.String({ enum: [...IMPORT_STATUSES] }),
  format: Type.String({ enum: ['csv', 'ndjson'] }),
  mode: Type.String({ enum: ['all_or_nothing', 'best_effort'] }),
  on_duplicate: Type.String({ enum: ['reject', 'skip', 'update'] }),
  dry_run: Type.Boolean({ description: 'counts say what would have been done' }),
  filename: Nullable(Type.String()),
  bytes: Type.Integer(),
  sha256: Type.String(),
  counts: ImportCounts,
  progress: ImportProgress,
  error: Nullable(Type.String({ description: 'why a failed run stopped' })),
  created_by: Type.String(),
  source_system: Nullable(Type.String()),
  created_at: DateTime(),
  started_at: Nullable(DateTime()),
  finished_at: Nullable(DateTime()),
});
export type ImportView = Static<typeof ImportView>;

export const ImportAccepted = Type.Object({
  import_id: Uuid(),
  status: Type.String({ enum: [...IMPORT_STATUSES] }),
  rows_read: Type.Integer(),
  links: Type.Object({ self: Type.String(), errors: Type.String() }),
});
export type ImportAccepted = Static<typeof ImportAccepted>;

export const ImportRowError = Type.Object({
  row: Type.Integer({ description: 'line of the file where the row ends (the CSV header is line 1)' }),
  field: Type.String({ description: 'CSV column or JSON field; (row) for the whole row' }),
  code: Type.String({ examples: ['ERR_VAL_MISSING_FIELD'] }),
  message: Type.String(),
});
export type ImportRowError = Static<typeof ImportRowError>;

export const ImportParams = Type.Object({ import_id: Uuid() });
export const ImportListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export const ImportErrorsQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
