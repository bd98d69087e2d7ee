import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError } from '../../http/errors.js';
import { tooManyRecords } from './csv.js';

/**
 * XML of data exchanges (docs/decisions/0030-data-exchange.md).
 *
 * Pull: `<records exchange_id="…"><record>…</record>…</records>`, one `record` element per person,
 * one child element per field of the contract's field_list in its order; null values are empty
 * elements; lists repeat a singular child (`identities/identity`, `contacts/contact`,
 * `household/members/member`, `memberships/membership`, `relationships/relationship`,
 * `masked_fields/field`, `address/line`); `extensions` holds JSON text; household fields nest
 * under `household`.
 *
 * Push: the same shape under `<records>`, each `record` carrying `identity_type`,
 * `identity_number` and field_list fields. A DOCTYPE or ENTITY declaration is refused before
 * parsing (no external entities, no entity expansion), and only the five XML entities and
 * character references are decoded.
 */

const SINGULAR: Record<string, string> = {
  identities: 'identity',
  contacts: 'contact',
  members: 'member',
  memberships: 'membership',
  relationships: 'relationship',
  masked_fields: 'field',
};

/** Characters XML 1.0 cannot carry, even escaped. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to drop
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

const clean = (s: string) => s.replace(INVALID_XML_CHARS, '');

function xmlValue(key: string, value: unknown): unknown {
  if (value === null || value === undefined) return '';
  if (key === 'extensions') return clean(JSON.stringify(value));
  if (Array.isArray(value)) {
    const child = SINGULAR[key];
    const items = value.map((v) => xmlValue(child ?? key, v));
    return child ? { [child]: items } : items;
  }
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, xmlValue(k, v)]),
    );
  }
  return clean(String(value));
}

const builder = new XMLBuilder({ format: false, suppressEmptyNode: true, processEntities: true });

/** One `<record>` element (a projected record: field names are XML names by construction). */
export function xmlRecord(record: Record<string, unknown>): string {
  return builder.build({ record: xmlValue('record', record) }) as string;
}

export const XML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n';

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/>/g, '&gt;');

export function xmlOpen(exchangeId: string): string {
  return `${XML_PROLOG}<records exchange_id="${escapeAttr(exchangeId)}">`;
}

export const XML_CLOSE = '</records>\n';

// ------------------------------------------------------------------ push parsing

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function refuseEntities(entities: Record<string, unknown>): void {
  if (Object.keys(entities).length > 0) throw new Error('entity declarations are not accepted');
}

/** Decodes the predefined entities and character references in one pass; any other is an error. */
const entityDecoder = {
  setExternalEntities: refuseEntities,
  addInputEntities: refuseEntities,
  reset() {},
  setXmlVersion() {},
  decode(text: string): string {
    return text.replace(/&([A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);/g, (_m, name: string) => {
      if (name.startsWith('#')) {
        const code =
          name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
        if (!Number.isFinite(code) || code < 1 || code > 0x10ffff)
          throw new Error(`invalid character &${name};`);
        return String.fromCodePoint(code);
      }
      const v = NAMED[name];
      if (v === undefined) throw new Error(`undeclared entity &${name};`);
      return v;
    });
  },
};

const REPEATED = new Set([
  'records.record',
  'records.record.contacts.contact',
  'records.record.identities.identity',
  'records.record.address.line',
]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  entityDecoder,
  isArray: (_name, jpath) => REPEATED.has(String(jpath)),
});

function malformed(message: string): AppError {
  return new AppError('ERR_VAL_INVALID_FORMAT', `payload is not acceptable XML: ${message}`, {
    errors: [{ field: 'payload', message }],
  });
}

/**
 * Whether the document holds a markup declaration (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION):
 * a `<!` that opens neither a comment nor a CDATA section. Comments and CDATA sections are skipped
 * by XML's own rules (a comment ends at the first `-->`, a CDATA section at the first `]]>`), so
 * text that merely contains `<!DOCTYPE` inside them is data, not a declaration.
 */
function hasMarkupDeclaration(text: string): boolean {
  let i = text.indexOf('<!');
  while (i !== -1) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return false; // not well-formed: the validator refuses it
      i = text.indexOf('<!', end + 3);
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) return false;
      i = text.indexOf('<!', end + 3);
    } else {
      return true;
    }
  }
  return false;
}

/**
 * An XML push payload as records. Refused with 422, before anything is parsed: DTDs and entity
 * declarations; then anything not well-formed, a root other than `records`, children other
 * than `record`, a record that is not a list of field elements.
 */
export function parseXmlRecords(text: string, maxRecords: number): Record<string, unknown>[] {
  if (hasMarkupDeclaration(text)) {
    throw malformed('DOCTYPE and entity declarations are not accepted');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformed(`line ${valid.err.line}: ${valid.err.msg}`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : 'unreadable');
  }
  const roots = Object.keys(doc).filter((k) => k !== '#text');
  if (roots.length !== 1 || roots[0] !== 'records') throw malformed('the root element must be <records>');
  const root = doc.records;
  if (root === '' || root === undefined) throw malformed('<records> holds no <record>');
  if (typeof root !== 'object' || root === null) throw malformed('<records> must hold <record> elements');
  const children = Object.keys(root).filter((k) => k !== '#text');
  if (children.some((k) => k !== 'record')) throw malformed('<records> may only hold <record> elements');
  const list = (root as { record?: unknown[] }).record ?? [];
  if (list.length === 0) throw malformed('<records> holds no <record>');
  if (list.length > maxRecords) throw tooManyRecords(maxRecords);
  return list.map((r, i) => {
    if (r === '') return {};
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw malformed(`record ${i + 1} must hold field elements, not text`);
    }
    const { '#text': _text, ...fields } = r as Record<string, unknown>;
    return fields;
  });
}
