import { type Static, Type } from 'typebox';
import { Body } from '../http/schemas.js';

export const VocabularySchema = Type.Object({
  code: Type.String({ examples: ['id-type'] }),
  namespace: Type.String({ examples: ['urn:hearth:vocab:id-type'] }),
  name: Type.String(),
  extendable: Type.Boolean(),
});
export type VocabularyOut = Static<typeof VocabularySchema>;

export const VocabularyCode = Type.Object({
  code: Type.String({ examples: ['national_id'] }),
  display: Type.String({ examples: ['National ID'] }),
  system: Type.String({
    description: 'namespace URI of the vocabulary',
    examples: ['urn:hearth:vocab:id-type'],
  }),
  is_system: Type.Boolean({ description: 'seeded with the tenant' }),
  deprecated: Type.Boolean(),
});
export type VocabularyCodeOut = Static<typeof VocabularyCode>;

export const VocabularyCodeCreate = Body({
  code: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$', examples: ['refugee_card'] }),
  display: Type.String({ minLength: 1, maxLength: 200, examples: ['Refugee card'] }),
});
export type VocabularyCodeCreate = Static<typeof VocabularyCodeCreate>;
