/** Deepest nesting of objects and arrays accepted in any JSON input (the body itself is level 1). */
export const MAX_JSON_DEPTH = 32;

export interface Unstorable {
  /** Where: `full_name`, `extensions.a.b`, `identities[0].number` (empty for the value itself). */
  field: string;
  message: string;
  code: 'ERR_VAL_INVALID_FORMAT' | 'ERR_VAL_RULE_VIOLATION';
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * The first thing in `value` PostgreSQL cannot store or Hearth refuses to take: the NUL
 * character (text and jsonb reject U+0000) in any string or object key, or nesting deeper than
 * MAX_JSON_DEPTH. Walks with an explicit stack, never by recursion, so a hostile depth cannot
 * overflow the call stack. Null when the value is fine.
 */
export function findUnstorable(value: unknown, root = ''): Unstorable | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) {
        return {
          field: path,
          message: 'must not contain the NUL character (U+0000)',
          code: 'ERR_VAL_INVALID_FORMAT',
        };
      }
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      return {
        field: path,
        message: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
        code: 'ERR_VAL_RULE_VIOLATION',
      };
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: childPath(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      if (key.includes('\u0000')) {
        return {
          field: childPath(path, key.replaceAll('\u0000', '\\u0000')),
          message: 'field names must not contain the NUL character (U+0000)',
          code: 'ERR_VAL_INVALID_FORMAT',
        };
      }
      stack.push({
        value: (v as Record<string, unknown>)[key],
        path: childPath(path, key),
        depth: depth + 1,
      });
    }
  }
  return null;
}
