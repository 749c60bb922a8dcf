/**
 * Imports real XForm definitions (the h:html a form builder such as CommCare's App Builder produces) into
 * the app model, so a team can generate traffic shaped like its own forms.
 *
 * Read from the definition: the primary instance (root element name, xmlns, version, name, and every
 * question element in order, including groups and repeats), binds (type, calculate, relevant, required),
 * body controls (input / select1 / select with their item values / upload with its mediatype / repeat),
 * case blocks in the instance (create / update / index / close, with binds and setvalues that say where
 * each value comes from), and `jr:template` repeats. Meta is regenerated, not imported.
 *
 * The result is an app document (the same shape as the YAML files), checked by parseApp; `warnings` lists
 * what could not be carried over (calculations that are not a plain reference, concat or literal).
 */
import { XMLParser } from 'fast-xml-parser';
import { parseApp, type AppDefinition } from './app.ts';
import { ORDERED_XML_OPTIONS } from './xml.ts';

export interface XFormImportOptions {
  /** App name (default: the first form's title). */
  name?: string;
  /** Case type of the session case for follow-up forms (not in the form itself; default `case`). */
  subjectType?: string;
  version?: number;
}

export interface XFormImport {
  doc: Record<string, unknown>;
  app: AppDefinition;
  warnings: string[];
}

export class XFormError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XFormError';
  }
}

type XNode = Record<string, unknown>;

const parser = new XMLParser(ORDERED_XML_OPTIONS);

function tagOf(n: XNode): string | undefined {
  for (const k in n) if (k !== ':@') return k;
  return undefined;
}
function local(tag: string): string {
  const i = tag.indexOf(':');
  return i < 0 ? tag : tag.slice(i + 1);
}
function attrs(n: XNode): Record<string, string> {
  return (n[':@'] as Record<string, string> | undefined) ?? {};
}
function kids(n: XNode): XNode[] {
  const t = tagOf(n);
  const c = t ? n[t] : undefined;
  return Array.isArray(c) ? (c as XNode[]) : [];
}
function elements(n: XNode): XNode[] {
  return kids(n).filter((k) => {
    const t = tagOf(k);
    return t !== undefined && t[0] !== '#';
  });
}
function text(n: XNode): string {
  return kids(n)
    .map((k) => (k['#text'] !== undefined ? String(k['#text']) : ''))
    .join('')
    .trim();
}
function child(n: XNode, name: string): XNode | undefined {
  return elements(n).find((k) => local(tagOf(k)!) === name);
}
function attr(n: XNode, name: string): string | undefined {
  const a = attrs(n);
  for (const k in a) if (k === name || local(k) === name) return a[k];
  return undefined;
}

interface Bind {
  type?: string;
  calculate?: string;
  relevant?: string;
  required?: string;
}

interface Control {
  kind: string;
  mediatype?: string;
  appearance?: string;
  items: string[];
}

const CASE_NS = 'http://commcarehq.org/case/transaction/v2';

function isCaseBlock(n: XNode): boolean {
  const t = tagOf(n);
  if (!t || local(t) !== 'case') return false;
  const a = attrs(n);
  if (Object.values(a).includes(CASE_NS)) return true;
  return 'case_id' in a || elements(n).some((k) => ['create', 'update', 'close', 'index'].includes(local(tagOf(k)!)));
}

function collectBody(nodes: XNode[], controls: Map<string, Control>, repeats: Set<string>, groupRef = ''): void {
  for (const n of nodes) {
    const t = tagOf(n);
    if (!t || t[0] === '#') continue;
    const name = local(t);
    const a = attrs(n);
    let ref = a.ref ?? a.nodeset ?? a.bind;
    if (ref && !ref.startsWith('/') && groupRef) ref = `${groupRef}/${ref}`;
    if (name === 'repeat' && ref) repeats.add(ref);
    if (['input', 'select1', 'select', 'upload', 'trigger', 'range', 'secret'].includes(name) && ref) {
      const items = elements(n)
        .filter((k) => local(tagOf(k)!) === 'item')
        .map((item) => {
          const v = child(item, 'value');
          return v ? text(v) : '';
        })
        .filter((v) => v !== '');
      const c: Control = { kind: name, items };
      if (a.mediatype) c.mediatype = a.mediatype;
      if (a.appearance) c.appearance = a.appearance;
      controls.set(ref, c);
    }
    collectBody(elements(n), controls, repeats, (name === 'group' || name === 'repeat') && ref ? ref : groupRef);
  }
}

class Importer {
  readonly warnings: string[] = [];
  readonly binds = new Map<string, Bind>();
  readonly setvalues = new Map<string, string>();
  readonly controls = new Map<string, Control>();
  readonly repeats = new Set<string>();
  /** question path -> its reference key in the app model (path relative to its scope root) */
  readonly keys = new Map<string, string>();
  /** case block path -> alias */
  readonly blockAliases = new Map<string, string>();
  rootPath = '/data';
  subject = false;
  closesSubject = false;

  constructor(
    readonly formId: string,
    readonly subjectType: string,
  ) {}

  warn(msg: string): void {
    this.warnings.push(`${this.formId}: ${msg}`);
  }

  /** Converts an XPath calculate into a value reference of the app model. */
  ref(xpath: string | undefined, where: string): string | undefined {
    if (xpath === undefined) return undefined;
    const x = xpath.trim();
    if (/^'[^']*'$/.test(x) || /^"[^"]*"$/.test(x)) return `'${x.slice(1, -1).replace(/'/g, '')}'`;
    if (/^-?\d+(\.\d+)?$/.test(x)) return `'${x}'`;
    if (x === 'today()' || x === 'now()' || x === 'uuid()') return x;
    if (/meta\/timeEnd$/.test(x) || /meta\/timeStart$/.test(x)) return 'now()';
    const key = this.keyOf(x);
    if (key) return key;
    const concat = /^concat\((.*)\)$/s.exec(x);
    if (concat) {
      const parts = splitArgs(concat[1]!);
      let tpl = '';
      let ok = true;
      for (const p of parts) {
        const q = p.trim();
        if (/^'[^']*'$/.test(q) || /^"[^"]*"$/.test(q)) tpl += q.slice(1, -1).replace(/[{}]/g, '');
        else {
          const k = this.keyOf(q);
          if (k) tpl += `{${k}}`;
          else {
            ok = false;
            break;
          }
        }
      }
      if (ok) return tpl.includes('{') ? tpl : `'${tpl.replace(/'/g, '')}'`;
    }
    const paths = [...new Set([...x.matchAll(/\/[A-Za-z_][\w./-]*/g)].map((m) => m[0]))].filter((p) => this.keys.has(p));
    if (paths.length === 1) {
      this.warn(`${where}: calculate "${x}" approximated by the value of ${paths[0]}`);
      return this.keys.get(paths[0]!);
    }
    this.warn(`${where}: calculate "${x}" cannot be evaluated; left blank`);
    return "''";
  }

  private keyOf(x: string): string | undefined {
    return this.keys.get(x.replace(/\s+/g, ''));
  }

  /** First pass: reference keys of all questions (so calculates can refer forward). */
  collectKeys(nodes: XNode[], path: string, scopePath: string): void {
    for (const n of nodes) {
      const t = tagOf(n)!;
      const name = local(t);
      const p = `${path}/${name}`;
      if (name === 'meta') continue;
      if (isCaseBlock(n)) {
        this.blockAliases.set(p, `case${this.blockAliases.size}`);
        continue;
      }
      const children = elements(n);
      if (children.length > 0 && children.every(isCaseBlock)) {
        for (let i = 0; i < children.length; i++) this.blockAliases.set(`${p}/case`, `case${this.blockAliases.size}`);
        continue;
      }
      if (this.repeats.has(p) || attr(n, 'template') !== undefined) {
        this.repeats.add(p);
        this.collectKeys(children, p, p);
      } else if (children.length > 0 && !children.every(isCaseBlock)) {
        this.collectKeys(children, p, scopePath);
      } else if (children.length === 0) {
        this.keys.set(p, p.slice(scopePath.length + 1));
      }
    }
  }

  nodes(nodes: XNode[], path: string, out: { questions: unknown[]; cases: unknown[] }): void {
    const seenRepeat = new Set<string>();
    for (const n of nodes) {
      const t = tagOf(n)!;
      const name = local(t);
      const p = `${path}/${name}`;
      if (name === 'meta') continue;
      if (isCaseBlock(n)) {
        out.cases.push(this.caseBlock(n, p, false, out.cases.length));
        continue;
      }
      const children = elements(n);
      if (children.length > 0 && children.every(isCaseBlock)) {
        // <subcase_0><case .../></subcase_0>
        for (const c of children) out.cases.push(this.caseBlock(c, `${p}/case`, true, out.cases.length));
        continue;
      }
      if (this.repeats.has(p)) {
        if (seenRepeat.has(p)) continue; // several template/initial copies of one repeat
        seenRepeat.add(p);
        const inner = { questions: [] as unknown[], cases: [] as unknown[] };
        this.nodes(children, p, inner);
        const r: Record<string, unknown> = { repeat: name, count: [1, 3], questions: inner.questions };
        if (inner.cases.length) r.cases = inner.cases;
        out.questions.push(r);
        continue;
      }
      if (children.length > 0) {
        const inner = { questions: [] as unknown[], cases: out.cases };
        this.nodes(children, p, inner);
        out.questions.push({ group: name, questions: inner.questions });
        continue;
      }
      out.questions.push(this.question(name, p));
    }
  }

  private question(name: string, p: string): Record<string, unknown> {
    const bind = this.binds.get(p) ?? {};
    const control = this.controls.get(p);
    const type = local((bind.type ?? '').toLowerCase());
    const q: Record<string, unknown> = { id: name };
    if (bind.relevant && bind.required !== 'true()') q.optional = 0.2;
    if (control?.kind === 'select1' || control?.kind === 'select') {
      q.type = control.kind;
      const items = control.items.filter((v) => !/\s/.test(v));
      if (items.length === 0) {
        this.warn(`${p}: ${control.kind} without static choices (itemset?): answered with "choice1..3"`);
        q.choices = ['choice1', 'choice2', 'choice3'];
      } else q.choices = items;
      return q;
    }
    if (control?.kind === 'upload' || type === 'binary') {
      const media = control?.mediatype ?? 'image/*';
      q.type = media.startsWith('audio') ? 'audio' : media.startsWith('video') ? 'video' : 'image';
      if (q.optional === undefined) q.optional = 0.5;
      return q;
    }
    if (!control) {
      if (bind.calculate !== undefined) {
        q.type = 'hidden';
        q.calculate = this.ref(bind.calculate, p);
      } else if (this.setvalues.has(p)) {
        q.type = 'hidden';
        q.calculate = this.ref(this.setvalues.get(p), p);
      } else {
        q.type = 'hidden';
        q.values = [''];
      }
      return q;
    }
    if (control.kind === 'trigger') {
      q.type = 'hidden';
      q.values = ['OK'];
      return q;
    }
    switch (type) {
      case 'int':
      case 'integer':
      case 'long':
      case 'short':
        q.type = 'int';
        q.min = 0;
        q.max = 100;
        break;
      case 'decimal':
      case 'double':
      case 'float':
        q.type = 'decimal';
        q.min = 0;
        q.max = 100;
        q.decimals = 2;
        break;
      case 'date':
        q.type = 'date';
        q.days = [-365, 0];
        break;
      case 'datetime':
        q.type = 'datetime';
        break;
      case 'time':
        q.type = 'time';
        break;
      case 'geopoint':
        q.type = 'geopoint';
        break;
      case 'barcode':
        q.type = 'barcode';
        break;
      default:
        if (control.appearance && /numbers/.test(control.appearance)) q.type = 'phone';
        else {
          q.type = 'text';
          q.faker = /name$/i.test(name) && !/user/i.test(name) ? 'person.fullName' : undefined;
          if (q.faker === undefined) {
            delete q.faker;
            q.words = [1, 4];
          }
        }
    }
    return q;
  }

  private caseBlock(n: XNode, p: string, wrap: boolean, position: number): Record<string, unknown> {
    const bindOf = (sub: string) => this.binds.get(`${p}/${sub}`)?.calculate ?? this.setvalues.get(`${p}/${sub}`);
    const idCalc = bindOf('@case_id') ?? attr(n, 'case_id') ?? '';
    const block: Record<string, unknown> = {};
    const create = child(n, 'create');
    const alias = this.blockAliases.get(p) ?? `case${this.blockAliases.size}`;
    this.blockAliases.set(p, alias);
    const other = [...this.blockAliases.entries()].find(([bp]) => bp !== p && idCalc.includes(`${bp}/@case_id`));
    if (create) {
      const typeEl = child(create, 'case_type');
      const typeCalc = bindOf('create/case_type');
      const caseType =
        (typeCalc ? this.ref(typeCalc, `${p}/create/case_type`)?.replace(/^'|'$/g, '') : undefined) || (typeEl ? text(typeEl) : '');
      block.create = caseType || this.subjectType;
      if (!caseType) this.warn(`${p}: create without a case_type; using "${this.subjectType}"`);
      block.as = alias;
      const nameCalc = bindOf('create/case_name');
      const nameEl = child(create, 'case_name');
      block.name = this.ref(nameCalc, `${p}/create/case_name`) ?? (nameEl && text(nameEl) ? `'${text(nameEl)}'` : "'unnamed'");
    } else if (other) {
      block.case = other[1];
    } else {
      block.case = 'subject';
      this.subject = true;
      if (!/session\/data\/case_id/.test(idCalc)) this.warn(`${p}: case_id "${idCalc}" read as the session (subject) case`);
    }
    const update = child(n, 'update');
    if (update) {
      const u: Record<string, string> = {};
      for (const prop of elements(update)) {
        const pn = local(tagOf(prop)!);
        const calc = bindOf(`update/${pn}`);
        const ref = calc !== undefined ? this.ref(calc, `${p}/update/${pn}`) : text(prop) ? `'${text(prop).replace(/'/g, '')}'` : undefined;
        if (ref !== undefined) u[pn] = ref;
      }
      if (Object.keys(u).length) block.update = u;
    }
    const index = child(n, 'index');
    if (index) {
      const first = elements(index)[0];
      if (first) {
        const ident = local(tagOf(first)!);
        const calc = bindOf(`index/${ident}`) ?? '';
        const target = [...this.blockAliases.entries()].find(([bp]) => bp !== p && calc.includes(`${bp}/@case_id`));
        if (target) block.parent = target[1];
        else {
          block.parent = 'subject';
          this.subject = true;
        }
        block.identifier = ident;
        const rel = attr(first, 'relationship');
        if (rel === 'extension') block.relationship = 'extension';
        if (elements(index).length > 1) this.warn(`${p}: only the first index (${ident}) is imported`);
      }
    }
    if (child(n, 'close')) {
      block.close = true;
      if (block.case === 'subject') this.closesSubject = true;
    }
    if (!block.create && !block.update && !block.parent && !block.close) block.update = { last_touched: 'today()' };
    block.wrap = wrap;
    void position;
    return block;
  }
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    quote = '',
    cur = '';
  for (const ch of s) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = '';
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      cur += ch;
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur);
  return out;
}

/** One XForm definition -> one form document (app-file shape). */
export function xformToFormDoc(
  xml: string,
  opts: XFormImportOptions = {},
  source = 'xform',
): { form: Record<string, unknown>; title: string; version?: number; warnings: string[] } {
  let doc: XNode[];
  try {
    doc = parser.parse(xml) as XNode[];
  } catch (err) {
    throw new XFormError(`${source}: not XML: ${(err as Error).message}`);
  }
  const html = doc.find((n) => local(tagOf(n) ?? '') === 'html');
  if (!html) throw new XFormError(`${source}: not an XForm definition (no <h:html> root)`);
  const head = child(html, 'head');
  const model = head && child(head, 'model');
  if (!head || !model) throw new XFormError(`${source}: no <h:head><model>`);
  const titleEl = child(head, 'title');
  const instances = elements(model).filter((k) => local(tagOf(k)!) === 'instance');
  const primary = instances.find((i) => attr(i, 'id') === undefined && attr(i, 'src') === undefined) ?? instances[0];
  const root = primary && elements(primary)[0];
  if (!root) throw new XFormError(`${source}: the model has no primary <instance> with a root element`);
  const rootName = local(tagOf(root)!);
  const rootAttrs = attrs(root);
  const xmlns = rootAttrs.xmlns;
  if (!xmlns) throw new XFormError(`${source}: the instance root <${rootName}> has no xmlns`);
  const title = rootAttrs.name ?? (titleEl ? text(titleEl) : rootName);
  const formId =
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '') || 'form';
  const imp = new Importer(formId, opts.subjectType ?? 'case');
  imp.rootPath = `/${rootName}`;
  for (const b of elements(model)) {
    const name = local(tagOf(b)!);
    const a = attrs(b);
    if (name === 'bind' && a.nodeset) {
      const bind: Bind = {};
      if (a.type !== undefined) bind.type = a.type;
      if (a.calculate !== undefined) bind.calculate = a.calculate;
      if (a.relevant !== undefined) bind.relevant = a.relevant;
      if (a.required !== undefined) bind.required = a.required;
      imp.binds.set(a.nodeset, bind);
    } else if (name === 'setvalue' && a.ref && a.value !== undefined) {
      imp.setvalues.set(a.ref, a.value);
    }
  }
  // setvalue may also sit in the body
  const body = child(html, 'body');
  const walkSetvalues = (ns: XNode[]) => {
    for (const n of ns) {
      if (local(tagOf(n) ?? '') === 'setvalue') {
        const a = attrs(n);
        if (a.ref && a.value !== undefined) imp.setvalues.set(a.ref, a.value);
      }
      walkSetvalues(elements(n));
    }
  };
  if (body) {
    collectBody(elements(body), imp.controls, imp.repeats);
    walkSetvalues(elements(body));
  }
  imp.collectKeys(elements(root), imp.rootPath, imp.rootPath);
  const out = { questions: [] as unknown[], cases: [] as unknown[] };
  imp.nodes(elements(root), imp.rootPath, out);
  const form: Record<string, unknown> = { id: formId, name: title, xmlns, questions: out.questions };
  if (out.cases.length) form.cases = out.cases;
  if (imp.subject) {
    form.subject = opts.subjectType ?? 'case';
    form.category = imp.closesSubject ? 'close' : 'followup';
  } else form.category = 'register';
  const version = rootAttrs.version !== undefined && /^\d+$/.test(rootAttrs.version) ? Number(rootAttrs.version) : undefined;
  const res: { form: Record<string, unknown>; title: string; version?: number; warnings: string[] } = {
    form,
    title,
    warnings: imp.warnings,
  };
  if (version !== undefined) res.version = version;
  return res;
}

/** Several XForm definitions (the forms of one app) -> a checked app. */
export function appFromXForms(sources: { xml: string; source: string }[], opts: XFormImportOptions = {}): XFormImport {
  if (sources.length === 0) throw new XFormError('no XForm definitions given');
  const warnings: string[] = [];
  const forms: Record<string, unknown>[] = [];
  const ids = new Set<string>();
  let version = opts.version;
  let name = opts.name;
  for (const s of sources) {
    const r = xformToFormDoc(s.xml, opts, s.source);
    let id = r.form.id as string;
    for (let i = 2; ids.has(id); i++) id = `${r.form.id as string}_${i}`;
    ids.add(id);
    r.form.id = id;
    forms.push(r.form);
    warnings.push(...r.warnings);
    version ??= r.version;
    name ??= r.title;
  }
  const doc: Record<string, unknown> = {
    name: (name ?? 'imported').toLowerCase().replace(/[^a-z0-9]+/g, '_'),
    version: version ?? 1,
    forms,
  };
  const app = parseApp(doc, sources.length === 1 ? sources[0]!.source : `${sources.length} XForms`);
  return { doc, app, warnings };
}
