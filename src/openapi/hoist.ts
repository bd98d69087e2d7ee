/**
 * Replaces inline copies of named schemas with `$ref`s. @fastify/swagger inlines every route
 * schema; the named ones are given to it as `components.schemas`, so both went through the same
 * conversion and a copy is recognised by its shape (annotations such as `examples` aside).
 */

type Json = Record<string, unknown>;

const REF_PREFIX = '#/components/schemas/';

/** Keys whose values are data, not schemas: never searched for schemas to name. */
const DATA_KEYS = new Set(['examples', 'example', 'enum', 'const', 'default', 'required']);
const IGNORED_IN_KEY = new Set(['examples', 'example', 'description', 'title']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects with properties and unions are named; a bare map (`{type: object}`) says nothing by its shape. */
function hoistable(node: Json): boolean {
  if (node.type === 'object') return isObject(node.properties) && Object.keys(node.properties).length > 0;
  return Array.isArray(node.anyOf) || Array.isArray(node.oneOf) || Array.isArray(node.allOf);
}

/** A canonical text of a schema's shape: sorted keys, annotations left out (not property names). */
export function shapeKey(value: unknown, isPropertyMap = false): string {
  if (Array.isArray(value)) return `[${value.map((v) => shapeKey(v)).join(',')}]`;
  if (!isObject(value)) return JSON.stringify(value) ?? 'null';
  const keys = Object.keys(value)
    .filter((k) => isPropertyMap || !IGNORED_IN_KEY.has(k))
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${shapeKey(value[k], !isPropertyMap && k === 'properties')}`).join(',')}}`;
}

export class SchemaNamer {
  private readonly byKey = new Map<string, string>();
  readonly definitions: Record<string, Json> = {};

  /** Learns the named schemas, smallest first so that a larger one already refers to its parts. */
  constructor(components: Record<string, Json>) {
    const names = Object.keys(components).sort(
      (a, b) => JSON.stringify(components[a]).length - JSON.stringify(components[b]).length,
    );
    for (const name of names) {
      const definition = this.replaceWithin(components[name]) as Json;
      this.definitions[name] = definition;
      const key = shapeKey(definition);
      if (hoistable(definition) && !this.byKey.has(key)) this.byKey.set(key, name);
    }
  }

  /** The schema with every named part (itself included) replaced by a `$ref`. */
  replace(schema: unknown): unknown {
    const inner = this.replaceWithin(schema);
    if (!isObject(inner) || !hoistable(inner)) return inner;
    const name = this.byKey.get(shapeKey(inner));
    return name ? { $ref: `${REF_PREFIX}${name}` } : inner;
  }

  /** Children replaced, the node itself kept (a component's own definition). */
  private replaceWithin(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((n) => this.replace(n));
    if (!isObject(node)) return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) {
      if (DATA_KEYS.has(k)) out[k] = v;
      else if (k === 'properties' && isObject(v)) {
        out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, this.replace(s)]));
      } else out[k] = this.replace(v);
    }
    return out;
  }
}

/** Names of the schemas a value refers to (directly). */
export function refsIn(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, found);
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF_PREFIX))
        found.add(v.slice(REF_PREFIX.length));
      else refsIn(v, found);
    }
  }
  return found;
}

/** The components reachable from the paths; the others are dropped from the document. */
export function usedSchemas(
  paths: unknown,
  definitions: Record<string, unknown>,
  extra: unknown = {},
): Set<string> {
  const used = new Set<string>();
  const queue = [...refsIn(paths), ...refsIn(extra)];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (used.has(name)) continue;
    used.add(name);
    queue.push(...refsIn(definitions[name]));
  }
  return used;
}

export const schemaRef = (name: string) => ({ $ref: `${REF_PREFIX}${name}` });

export function refName(schema: unknown): string | undefined {
  if (!isObject(schema) || typeof schema.$ref !== 'string') return undefined;
  return schema.$ref.startsWith(REF_PREFIX) ? schema.$ref.slice(REF_PREFIX.length) : undefined;
}
