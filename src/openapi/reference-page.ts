/**
 * /docs: the API reference as one server-rendered HTML page, built once from the OpenAPI document
 * (docs/decisions/0113). Every operation is a closed `<details>` under its tag, so the browser
 * paints the introduction and the operation list without running any script; schemas are linked
 * by name. Anchors sit on the body inside each `<details>`: following a link to it opens it. The interactive console (Authorize, Try it out) stays at /docs/try.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Anchor ids: tags and schema names may hold spaces. */
export const anchor = (kind: string, name: string) => `${kind}-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`;

/** The inline part of the Markdown the document's descriptions use: code, bold, links. */
function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(((?:https?:\/\/|\/|#)[^)\s]*)\)/g, '<a href="$2">$1</a>');
}

/**
 * The Markdown of the descriptions (headings, paragraphs, `-` lists, fenced code, inline code,
 * bold, links): a subset written here rather than a dependency, since the text is the project's
 * own. Everything is escaped first, so no HTML passes through.
 */
export function markdown(source: string): string {
  const out: string[] = [];
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  let para: string[] = [];
  let list: string[] | null = null;
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
  };
  const flushList = () => {
    if (list) out.push(`<ul>${list.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flushPara();
      flushList();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      out.push(`<pre><code>${esc(code.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      flushPara();
      flushList();
      // The page's own h1/h2 come first: description headings start at h3.
      const level = Math.min(6, heading[1].length + 1);
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      continue;
    }
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (item) {
      flushPara();
      list ??= [];
      list.push(item[1]);
      continue;
    }
    if (line.trim() === '') {
      flushPara();
      flushList();
      continue;
    }
    if (list && /^\s+\S/.test(line)) {
      list[list.length - 1] += ` ${line.trim()}`;
      continue;
    }
    flushList();
    para.push(line.trim());
  }
  flushPara();
  flushList();
  return out.join('\n');
}

/** Pretty JSON, escaped, with `$ref`s to component schemas as links. */
function jsonBlock(value: unknown): string {
  const text = esc(JSON.stringify(value, null, 2));
  return `<pre class="json">${text.replace(
    /&quot;#\/components\/schemas\/([^&]+)&quot;/g,
    (_m, name: string) => `&quot;<a href="#${anchor('schema', name)}">#/components/schemas/${name}</a>&quot;`,
  )}</pre>`;
}

const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

class Page {
  constructor(private readonly doc: Json) {}

  private component(kind: string, ref: string): Json {
    const all = (this.doc.components as Json | undefined)?.[kind];
    const found = isObject(all) ? all[refName(ref)] : undefined;
    return isObject(found) ? found : {};
  }

  /** Follows one `$ref` to components.<kind> (parameters, responses, request bodies). */
  private deref(value: unknown, kind: string): Json {
    if (!isObject(value)) return {};
    return typeof value.$ref === 'string' ? this.component(kind, value.$ref) : value;
  }

  private schemaLink(schema: unknown): string {
    if (!isObject(schema)) return '';
    if (typeof schema.$ref === 'string') {
      const name = refName(schema.$ref);
      return `<a href="#${anchor('schema', name)}">${esc(name)}</a>`;
    }
    if (schema.type === 'array' && isObject(schema.items) && typeof schema.items.$ref === 'string') {
      return `array of ${this.schemaLink(schema.items)}`;
    }
    return `<details class="schema"><summary>schema</summary>${jsonBlock(schema)}</details>`;
  }

  /** A type in a few words, with named schemas as links. */
  private typeOf(schema: unknown): string {
    if (!isObject(schema)) return '';
    if (typeof schema.$ref === 'string') return this.schemaLink(schema);
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
      const list = schema[k];
      if (Array.isArray(list)) return list.map((s) => this.typeOf(s)).join(k === 'allOf' ? ' and ' : ' | ');
    }
    if (schema.const !== undefined) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
    if (Array.isArray(schema.enum))
      return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
    const type = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
    if (type === 'array') return `array of ${this.typeOf(schema.items)}`;
    return `${esc(type)}${schema.format ? ` (${esc(String(schema.format))})` : ''}`;
  }

  /** A named schema: its properties as a table when it is an object, else its JSON. */
  private schemaBody(schema: unknown): string {
    if (!isObject(schema) || !isObject(schema.properties)) {
      const { examples: _omit, ...rest } = isObject(schema) ? schema : {};
      return jsonBlock(rest);
    }
    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    const rows = Object.entries(schema.properties).map(([name, p]) => {
      const prop = isObject(p) ? p : {};
      const limits = ['minLength', 'maxLength', 'minimum', 'maximum', 'maxItems', 'pattern', 'default']
        .filter((k) => prop[k] !== undefined)
        .map((k) => `${k} ${esc(JSON.stringify(prop[k]))}`)
        .join(', ');
      return (
        `<tr><td><code>${esc(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td>` +
        `<td>${this.typeOf(prop)}</td><td>${prop.description ? inline(String(prop.description)) : ''}` +
        `${limits ? ` <span class="limits">${limits}</span>` : ''}</td></tr>`
      );
    });
    return `<table><thead><tr><th>property</th><th>type</th><th>description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  private example(media: Json): unknown {
    if (media.example !== undefined) return media.example;
    if (isObject(media.examples)) {
      const first = Object.values(media.examples)[0];
      if (isObject(first) && first.value !== undefined) return first.value;
    }
    const schema = this.deref(media.schema, 'schemas');
    return Array.isArray(schema.examples) ? schema.examples[0] : undefined;
  }

  private content(content: unknown): string {
    if (!isObject(content)) return '';
    return Object.entries(content)
      .map(([type, media]) => {
        const m = isObject(media) ? media : {};
        const example = this.example(m);
        return (
          `<div class="media"><code>${esc(type)}</code> ${this.schemaLink(m.schema)}` +
          `${example === undefined ? '' : `<div class="example">Example</div>${jsonBlock(example)}`}</div>`
        );
      })
      .join('');
  }

  private parameters(list: unknown): string {
    if (!Array.isArray(list) || list.length === 0) return '';
    const rows = list.map((p) => {
      const param = this.deref(p, 'parameters');
      const schema = isObject(param.schema) ? param.schema : {};
      const type = typeof schema.$ref === 'string' ? refName(schema.$ref) : String(schema.type ?? '');
      return (
        `<tr><td><code>${esc(String(param.name))}</code>${param.required ? ' <span class="req">required</span>' : ''}</td>` +
        `<td>${esc(String(param.in))}</td><td>${esc(type)}${schema.format ? ` (${esc(String(schema.format))})` : ''}</td>` +
        `<td>${param.description ? inline(String(param.description)) : ''}</td></tr>`
      );
    });
    return `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  }

  private security(op: Json): string {
    const requirements = Array.isArray(op.security)
      ? op.security
      : (this.doc.security as unknown[] | undefined);
    if (!Array.isArray(requirements) || requirements.length === 0)
      return '<p class="security">No authentication.</p>';
    const alternatives = requirements.filter(isObject).map((r) =>
      Object.entries(r)
        .map(([scheme, scopes]) =>
          Array.isArray(scopes) && scopes.length
            ? `${esc(scheme)} (${scopes.map((s) => `<code>${esc(String(s))}</code>`).join(', ')})`
            : esc(scheme),
        )
        .join(' + '),
    );
    return alternatives.length
      ? `<p class="security"><strong>Security:</strong> ${alternatives.join(' <em>or</em> ')}</p>`
      : '<p class="security">No authentication.</p>';
  }

  private operation(method: string, path: string, op: Json): string {
    const id = typeof op.operationId === 'string' ? op.operationId : anchor('op', `${method}-${path}`);
    const body = this.deref(op.requestBody, 'requestBodies');
    const responses = isObject(op.responses)
      ? Object.entries(op.responses).map(([status, r]) => {
          if (isObject(r) && typeof r.$ref === 'string') {
            // Shared answers (403, 404, 422…) are written once, under "Common responses".
            const name = refName(r.$ref);
            const shared = this.component('responses', r.$ref);
            return (
              `<div class="response"><span class="status s${esc(status[0])}">${esc(status)}</span> ` +
              `${inline(String(shared.description ?? ''))} (<a href="#${anchor('response', name)}">${esc(name)}</a>)</div>`
            );
          }
          const response = this.deref(r, 'responses');
          return (
            `<div class="response"><span class="status s${esc(status[0])}">${esc(status)}</span> ` +
            `${inline(String(response.description ?? ''))}${this.content(response.content)}</div>`
          );
        })
      : [];
    return (
      `<details class="op" data-id="${esc(id)}"><summary><span class="method ${method}">${method.toUpperCase()}</span> ` +
      `<code class="path">${esc(path)}</code> <span class="summary">${inline(String(op.summary ?? ''))}</span>` +
      `${op.deprecated ? ' <span class="deprecated">deprecated</span>' : ''}</summary><div class="op-body" id="${esc(id)}">` +
      `<p class="opid">operationId <code>${esc(id)}</code></p>` +
      `${op.description ? markdown(String(op.description)) : ''}${this.security(op)}${this.parameters(op.parameters)}` +
      `${Object.keys(body).length ? `<h4>Request body${body.required ? '' : ' (optional)'}</h4>${this.content(body.content)}` : ''}` +
      `<h4>Responses</h4>${responses.join('')}</div></details>`
    );
  }

  render(): string {
    const doc = this.doc;
    const info = isObject(doc.info) ? doc.info : {};
    const servers = Array.isArray(doc.servers) ? doc.servers.filter(isObject) : [];
    const declared = Array.isArray(doc.tags) ? doc.tags.filter(isObject) : [];
    const byTag = new Map<string, string[]>();
    const navByTag = new Map<string, string[]>();
    for (const t of declared) {
      byTag.set(String(t.name), []);
      navByTag.set(String(t.name), []);
    }
    for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        const tag = Array.isArray(op.tags) && op.tags.length ? String(op.tags[0]) : 'other';
        if (!byTag.has(tag)) {
          byTag.set(tag, []);
          navByTag.set(tag, []);
        }
        byTag.get(tag)!.push(this.operation(method, path, op));
        const id = typeof op.operationId === 'string' ? op.operationId : anchor('op', `${method}-${path}`);
        navByTag
          .get(tag)!
          .push(
            `<li><a href="#${esc(id)}"><span class="method ${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`,
          );
      }
    }
    const describe = new Map(declared.map((t) => [String(t.name), String(t.description ?? '')]));
    const sections = [...byTag].map(
      ([tag, ops]) =>
        `<section class="tag" id="${anchor('tag', tag)}"><h2>${esc(tag)}</h2>` +
        `${describe.get(tag) ? markdown(describe.get(tag)!) : ''}${ops.join('\n')}</section>`,
    );
    const nav = [...navByTag].map(
      ([tag, items]) =>
        `<li><details><summary><a href="#${anchor('tag', tag)}">${esc(tag)}</a> <span class="count">${items.length}</span></summary><ul>${items.join('')}</ul></details></li>`,
    );
    const components = isObject(doc.components) ? doc.components : {};
    const schemas = Object.entries(isObject(components.schemas) ? components.schemas : {}).map(
      ([name, schema]) =>
        `<details class="op" data-id="${anchor('schema', name)}"><summary><code>${esc(name)}</code>` +
        `${isObject(schema) && schema.description ? ` <span class="summary">${inline(String(schema.description))}</span>` : ''}</summary>` +
        `<div class="op-body" id="${anchor('schema', name)}">${this.schemaBody(schema)}</div></details>`,
    );
    const commonResponses = Object.entries(isObject(components.responses) ? components.responses : {}).map(
      ([name, response]) =>
        `<div class="op" id="${anchor('response', name)}"><div class="op-body"><h4>${esc(name)}</h4>` +
        `${isObject(response) ? `${inline(String(response.description ?? ''))}${this.content(response.content)}` : ''}</div></div>`,
    );
    const scopes = (() => {
      const oauth2 = isObject((doc.components as Json | undefined)?.securitySchemes)
        ? (((doc.components as Json).securitySchemes as Json).oauth2 as Json | undefined)
        : undefined;
      const flow = isObject(oauth2?.flows) ? (oauth2.flows as Json).clientCredentials : undefined;
      const list = isObject(flow) && isObject(flow.scopes) ? Object.entries(flow.scopes) : [];
      if (!list.length) return '';
      return (
        `<section id="scopes"><h2>Scopes</h2><p>OAuth 2.0 client credentials; token URL <code>${esc(String((flow as Json).tokenUrl))}</code>.</p>` +
        `<table><thead><tr><th>scope</th><th>grants</th></tr></thead><tbody>${list
          .map(([s, d]) => `<tr><td><code>${esc(s)}</code></td><td>${inline(String(d))}</td></tr>`)
          .join('')}</tbody></table></section>`
      );
    })();

    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearth API reference</title>
<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,${encodeURIComponent(LOGO)}">
<style>${CSS}</style></head>
<body>
<header class="top">${LOGO}<div><h1>${esc(String(info.title ?? 'Hearth API'))} <span class="version">${esc(String(info.version ?? ''))}</span></h1>
<p>Server: ${servers.map((s) => `<code class="server">${esc(String(s.url))}</code>`).join(', ')} · <a href="/openapi.json">openapi.json</a> · <a href="/docs/try">interactive console (Authorize, Try it out)</a></p></div></header>
<div class="layout"><nav aria-label="Operations"><ul><li><a href="#introduction">Introduction</a></li><li><a href="#scopes">Scopes</a></li>${nav.join('')}<li><a href="#responses">Common responses</a></li><li><a href="#schemas">Schemas</a></li></ul></nav>
<main><section id="introduction" class="intro"><h2>Introduction</h2>${markdown(String(info.description ?? ''))}</section>
${scopes}
${sections.join('\n')}
<section id="responses"><h2>Common responses</h2>${commonResponses.join('\n')}</section>
<section id="schemas"><h2>Schemas</h2>${schemas.join('\n')}</section></main></div>
</body></html>`;
  }
}

/** The whole /docs page for an OpenAPI document. */
export function renderReference(doc: unknown): string {
  return new Page(isObject(doc) ? doc : {}).render();
}

/** A hearth: the mark of /docs (inline SVG, no external request). */
export const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="40" height="40" aria-hidden="true"><path d="M32 6 6 28h6v28h40V28h6z" fill="#7a2e1b"/><path d="M32 50c-7 0-11-5-11-10 0-7 7-10 6-17 6 3 8 8 8 12 2-2 3-4 3-7 4 4 5 8 5 12 0 5-4 10-11 10z" fill="#f2a541"/></svg>`;

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#fff}
a{color:#7a2e1b}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:#f6f3f1;padding:10px;overflow:auto;border-radius:4px;max-height:480px}
header.top{display:flex;gap:12px;align-items:center;background:#7a2e1b;color:#fff;padding:8px 20px}
header.top h1{margin:0;font-size:1.3em}header.top p{margin:0;font-size:.9em}
header.top a,header.top code{color:#fff}header.top svg{background:#fff;border-radius:6px;padding:2px}
.version{font-weight:normal;font-size:.7em;opacity:.8}
.layout{display:flex;align-items:flex-start}
nav{position:sticky;top:0;width:300px;flex:none;max-height:100vh;overflow:auto;padding:12px;border-right:1px solid #e5dcd7;font-size:13px}
nav ul{list-style:none;margin:0;padding:0}nav li{margin:2px 0}nav ul ul{padding-left:12px}
nav ul ul a{text-decoration:none;color:#333;display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.count{color:#888;font-size:.85em}
main{flex:1;min-width:0;padding:0 24px 48px;max-width:1100px}
h2{color:#7a2e1b;border-bottom:1px solid #e5dcd7;padding-bottom:4px;margin-top:32px}
details.op{border:1px solid #e5dcd7;border-radius:4px;margin:6px 0}
details.op>summary{cursor:pointer;padding:6px 10px;list-style-position:inside}
details.op[open]>summary{background:#faf6f3;border-bottom:1px solid #e5dcd7}
.op-body{padding:4px 14px 12px;scroll-margin-top:48px}
.method{display:inline-block;min-width:58px;text-align:center;font:600 12px/1.8 ui-monospace,monospace;color:#fff;border-radius:3px;background:#666}
.method.get{background:#2f6f9f}.method.post{background:#3b7d3b}.method.put{background:#a86b00}.method.patch{background:#6d4fa0}.method.delete{background:#a33}
nav .method{min-width:44px;font-size:10px}
.path{font-weight:600}.summary{color:#444}.deprecated,.req{color:#a33;font-size:.85em}
.opid{color:#777;font-size:.85em;margin:6px 0}
.status{display:inline-block;min-width:40px;font-weight:600}.status.s2{color:#3b7d3b}.status.s4,.status.s5{color:#a33}
.response,.media{margin:6px 0}.limits{color:#777;font-size:.85em}.example{font-size:.85em;color:#777;margin-top:4px}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border:1px solid #e5dcd7;padding:4px 8px;text-align:left;vertical-align:top}
@media (max-width:800px){.layout{display:block}nav{position:static;width:auto;max-height:none;border:0}}
`;
