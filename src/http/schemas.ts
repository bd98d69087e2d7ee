import { type Static, type TObject, type TProperties, type TSchema, Type } from 'typebox';

/** A request body object: unknown fields are refused. */
export function Body<P extends TProperties>(
  properties: P,
  options: { description?: string } = {},
): TObject<P> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const DateTime = (description?: string) =>
  Type.String({ format: 'date-time', ...(description ? { description } : {}) });

export const DateOnly = (description?: string) =>
  Type.String({ format: 'date', ...(description ? { description } : {}) });

export const Uuid = (description?: string) =>
  Type.String({ format: 'uuid', ...(description ? { description } : {}) });

/** A reason code with its free text; the text is required when the code is OTHER (checked in services). */
export const ReasonFields = {
  reason_code: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Z][A-Z0-9_]*$' }),
  reason_text: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
};

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String()),
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ examples: ['urn:hearth:problem:err_not_found'] }),
    title: Type.String({ examples: ['Not Found'] }),
    status: Type.Integer({ examples: [404] }),
    detail: Type.String({ examples: ['person not found'] }),
    code: Type.String({ examples: ['ERR_NOT_FOUND'] }),
    correlation_id: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(FieldErrorSchema)),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);
export type ProblemBody = Static<typeof ProblemSchema>;

export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'page size (≤ 200)' }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'opaque cursor from next_cursor of the previous page' }),
  ),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: 'pass as cursor for the next page; null at the end' })),
  });
}

/** Standard error responses declared on every route so the OpenAPI document lists them. */
export function errorResponses(...statuses: number[]): Record<number, typeof ProblemSchema> {
  const out: Record<number, typeof ProblemSchema> = {};
  for (const s of statuses) out[s] = ProblemSchema;
  return out;
}
