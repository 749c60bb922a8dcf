/**
 * The app model: what a CommCare app looks like to the generator. Forms with typed questions, groups and
 * repeats, case blocks (create / update / index to a parent / close) and ledger blocks.
 *
 * Apps are written as YAML or JSON (see generators/apps/*.yaml for the built-ins) and checked by
 * `parseApp`, which reports the first problem with its path (`forms[2].questions[3].type: ...`).
 *
 * Value references (`name:`, `update:` values): a question id (looked up in the current repeat item first,
 * then outwards), an XPath-style literal in single quotes (`'yes'`), `today()` / `now()`, or a template
 * with question ids in braces (`{given_name} {family_name}`).
 */
import { parse as parseYaml } from 'yaml';
import { Rng } from './rng.ts';

export const QUESTION_TYPES = [
  'text',
  'int',
  'decimal',
  'date',
  'datetime',
  'time',
  'select1',
  'select',
  'geopoint',
  'phone',
  'barcode',
  'image',
  'audio',
  'video',
  'hidden',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];
export const ATTACHMENT_TYPES: ReadonlySet<string> = new Set(['image', 'audio', 'video']);

export interface Question {
  kind: 'question';
  id: string;
  type: QuestionType;
  label?: string;
  /** Probability (0..1) that the question is left blank (`<q/>`), as with skip logic. */
  optional: number;
  /** faker method path for text-like questions, e.g. `person.firstName`, `location.city`. */
  faker?: string;
  /** Fixed list of values to draw from (text, hidden). */
  values?: string[];
  /** Words of lorem text, [min, max] (text without faker/values). */
  words?: [number, number];
  min?: number;
  max?: number;
  decimals?: number;
  /** date / datetime: offset in days from the form's day, [min, max] (negative = past). */
  days?: [number, number];
  choices?: string[];
  weights?: number[];
  /** select (many): how many choices are ticked, [min, max]. */
  pick?: [number, number];
  /** hidden: value reference (template, literal, question id). */
  calculate?: string;
  /** barcode: number of digits. */
  digits?: number;
  /** image / audio / video: attachment size in KB, [min, max]. */
  sizeKB?: [number, number];
}

export interface Group {
  kind: 'group';
  id: string;
  children: Node[];
}

export interface Repeat {
  kind: 'repeat';
  id: string;
  count: [number, number];
  children: Node[];
  cases: CaseBlockSpec[];
  ledgers: LedgerSpec[];
}

export type Node = Question | Group | Repeat;

export interface CaseBlockSpec {
  /** `new`: creates a case (case_id is a fresh UUID); `subject`: the form's subject case; or an alias. */
  target: string;
  caseType?: string;
  alias?: string;
  name?: string;
  update: [string, string][];
  parent?: { ref: string; identifier: string; relationship: 'child' | 'extension' };
  close: boolean;
  /** Where the block sits: `root` (a direct child of the form) or wrapped in `<subcase_N>` like App Builder. */
  wrap: boolean;
}

export interface LedgerSpec {
  kind: 'balance' | 'transfer';
  section: string;
  /** balance: the entity (case) whose stock is reported: `subject` or an alias. */
  entity?: string;
  /** transfer: source and/or destination entity refs (`subject` or an alias); at least one. */
  src?: string;
  dest?: string;
  transferType?: string;
  /** product ids to report; undefined = all app products. */
  products?: string[];
  /** Report a random subset of this many products, [min, max]. */
  sample?: [number, number];
  quantity: [number, number];
}

export type FormCategory = 'register' | 'followup' | 'close';

export interface FormDef {
  id: string;
  name: string;
  xmlns: string;
  category: FormCategory;
  weight: number;
  subject?: { type: string; where: [string, string][] };
  children: Node[];
  cases: CaseBlockSpec[];
  ledgers: LedgerSpec[];
  /** Time a worker spends filling the form, minutes [min, max]. */
  minutes: [number, number];
}

export interface Product {
  id: string;
  name: string;
}

export interface AppDefinition {
  name: string;
  description?: string;
  appId: string;
  version: number;
  /** Case properties remembered per open case (for `subject.where` filters), by case type. */
  track: Record<string, string[]>;
  products: Product[];
  forms: FormDef[];
}

export class AppError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Ctx {
  constructor(readonly source: string) {}
  fail(path: string, msg: string): never {
    throw new AppError(`${this.source}: ${path ? `${path}: ` : ''}${msg}`);
  }
  str(o: Obj, key: string, path: string, required: true): string;
  str(o: Obj, key: string, path: string, required?: false): string | undefined;
  str(o: Obj, key: string, path: string, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.fail(path, `missing "${key}"`);
      return undefined;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') this.fail(`${path}.${key}`, `expected a string, got ${describe(v)}`);
    return v;
  }
  num(o: Obj, key: string, path: string): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path}.${key}`, `expected a number, got ${describe(v)}`);
    return v;
  }
  pair(o: Obj, key: string, path: string): [number, number] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return [v, v];
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number' || v[0] > v[1]) {
      this.fail(`${path}.${key}`, `expected [min, max] with min <= max, got ${JSON.stringify(v)}`);
    }
    return [v[0], v[1]];
  }
  strList(o: Obj, key: string, path: string): string[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length === 0) this.fail(`${path}.${key}`, 'expected a non-empty list');
    return v.map((x, i) => {
      if (typeof x === 'string') return x;
      if (typeof x === 'number' || typeof x === 'boolean') return String(x);
      return this.fail(`${path}.${key}[${i}]`, `expected a string, got ${describe(x)}`);
    });
  }
  known(o: Obj, allowed: readonly string[], path: string): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(path, `unknown field "${k}" (expected one of: ${allowed.join(', ')})`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkName(ctx: Ctx, name: string, path: string): string {
  if (!XML_NAME.test(name)) ctx.fail(path, `"${name}" is not a valid XML element name`);
  return name;
}

const QUESTION_KEYS = [
  'id',
  'type',
  'label',
  'optional',
  'faker',
  'values',
  'words',
  'min',
  'max',
  'decimals',
  'days',
  'choices',
  'weights',
  'pick',
  'calculate',
  'digits',
  'size_kb',
];

function parseQuestion(ctx: Ctx, o: Obj, path: string): Question {
  ctx.known(o, QUESTION_KEYS, path);
  const id = checkName(ctx, ctx.str(o, 'id', path, true), `${path}.id`);
  const type = ctx.str(o, 'type', path, true) as QuestionType;
  if (!QUESTION_TYPES.includes(type))
    ctx.fail(`${path}.type`, `unknown question type "${type}" (expected one of: ${QUESTION_TYPES.join(', ')})`);
  const optional = ctx.num(o, 'optional', path) ?? 0;
  if (optional < 0 || optional > 1) ctx.fail(`${path}.optional`, 'expected a probability between 0 and 1');
  const q: Question = { kind: 'question', id, type, optional };
  const label = ctx.str(o, 'label', path);
  if (label !== undefined) q.label = label;
  const faker = ctx.str(o, 'faker', path);
  if (faker !== undefined) {
    if (!/^[a-zA-Z]+\.[a-zA-Z]+$/.test(faker))
      ctx.fail(`${path}.faker`, `expected "module.method" (e.g. person.firstName), got "${faker}"`);
    q.faker = faker;
  }
  const values = ctx.strList(o, 'values', path);
  if (values) q.values = values;
  const words = ctx.pair(o, 'words', path);
  if (words) q.words = words;
  const min = ctx.num(o, 'min', path);
  const max = ctx.num(o, 'max', path);
  if (min !== undefined) q.min = min;
  if (max !== undefined) q.max = max;
  if (min !== undefined && max !== undefined && min > max) ctx.fail(path, `min ${min} > max ${max}`);
  const decimals = ctx.num(o, 'decimals', path);
  if (decimals !== undefined) q.decimals = decimals;
  const days = ctx.pair(o, 'days', path);
  if (days) q.days = days;
  const choices = ctx.strList(o, 'choices', path);
  if (choices) {
    choices.forEach((c, i) => {
      if (/\s/.test(c)) ctx.fail(`${path}.choices[${i}]`, `choice value "${c}" contains whitespace`);
    });
    q.choices = choices;
  }
  const weights = o.weights;
  if (weights !== undefined) {
    if (!Array.isArray(weights) || weights.some((w) => typeof w !== 'number' || w < 0) || weights.length !== (choices?.length ?? -1)) {
      ctx.fail(`${path}.weights`, 'expected one non-negative number per choice');
    }
    q.weights = weights as number[];
  }
  const pick = ctx.pair(o, 'pick', path);
  if (pick) q.pick = pick;
  const calculate = ctx.str(o, 'calculate', path);
  if (calculate !== undefined) q.calculate = calculate;
  const digits = ctx.num(o, 'digits', path);
  if (digits !== undefined) q.digits = digits;
  const sizeKB = ctx.pair(o, 'size_kb', path);
  if (sizeKB) q.sizeKB = sizeKB;
  if ((type === 'select1' || type === 'select') && !q.choices) ctx.fail(path, `a ${type} question needs "choices"`);
  if (type === 'hidden' && q.calculate === undefined && !q.values) ctx.fail(path, 'a hidden question needs "calculate" or "values"');
  return q;
}

function parseNodes(ctx: Ctx, list: unknown, path: string): Node[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) ctx.fail(path, 'expected a list of questions');
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(item)) return ctx.fail(p, `expected an object, got ${describe(item)}`);
    if (item.group !== undefined) {
      ctx.known(item, ['group', 'questions'], p);
      const id = checkName(ctx, ctx.str(item, 'group', p, true), `${p}.group`);
      return { kind: 'group', id, children: parseNodes(ctx, item.questions, `${p}.questions`) } satisfies Group;
    }
    if (item.repeat !== undefined) {
      ctx.known(item, ['repeat', 'count', 'questions', 'cases', 'ledgers'], p);
      const id = checkName(ctx, ctx.str(item, 'repeat', p, true), `${p}.repeat`);
      const count = ctx.pair(item, 'count', p) ?? [1, 3];
      if (count[0] < 0) ctx.fail(`${p}.count`, 'must be >= 0');
      return {
        kind: 'repeat',
        id,
        count,
        children: parseNodes(ctx, item.questions, `${p}.questions`),
        cases: parseCases(ctx, item.cases, `${p}.cases`),
        ledgers: parseLedgers(ctx, item.ledgers, `${p}.ledgers`),
      } satisfies Repeat;
    }
    return parseQuestion(ctx, item, p);
  });
}

function parseCases(ctx: Ctx, list: unknown, path: string): CaseBlockSpec[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) ctx.fail(path, 'expected a list of case blocks');
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(item)) return ctx.fail(p, `expected an object, got ${describe(item)}`);
    ctx.known(item, ['create', 'case', 'as', 'name', 'update', 'parent', 'relationship', 'identifier', 'close', 'wrap'], p);
    const create = ctx.str(item, 'create', p);
    const target = ctx.str(item, 'case', p);
    if ((create === undefined) === (target === undefined))
      ctx.fail(p, 'a case block needs exactly one of "create: <case type>" or "case: subject|<alias>"');
    const spec: CaseBlockSpec = {
      target: create !== undefined ? 'new' : (target as string),
      update: [],
      close: item.close === true,
      wrap: item.wrap === undefined ? i > 0 : item.wrap === true,
    };
    if (item.close !== undefined && typeof item.close !== 'boolean') ctx.fail(`${p}.close`, 'expected true or false');
    if (create !== undefined) {
      spec.caseType = checkName(ctx, create, `${p}.create`);
      const name = ctx.str(item, 'name', p);
      if (name === undefined) ctx.fail(p, 'a create block needs "name" (a question id or template for case_name)');
      spec.name = name;
    } else if (item.name !== undefined) {
      spec.name = ctx.str(item, 'name', p);
    }
    const alias = ctx.str(item, 'as', p);
    if (alias !== undefined) spec.alias = alias;
    if (item.update !== undefined) {
      if (!isObj(item.update)) ctx.fail(`${p}.update`, 'expected a map of case property -> value reference');
      for (const [prop, ref] of Object.entries(item.update)) {
        checkName(ctx, prop, `${p}.update.${prop}`);
        if (typeof ref !== 'string') ctx.fail(`${p}.update.${prop}`, `expected a value reference string, got ${describe(ref)}`);
        spec.update.push([prop, ref]);
      }
    }
    const parent = ctx.str(item, 'parent', p);
    if (parent !== undefined) {
      const rel = ctx.str(item, 'relationship', p) ?? 'child';
      if (rel !== 'child' && rel !== 'extension') ctx.fail(`${p}.relationship`, 'expected child or extension');
      spec.parent = {
        ref: parent,
        relationship: rel,
        identifier: ctx.str(item, 'identifier', p) ?? (rel === 'extension' ? 'host' : 'parent'),
      };
    }
    if (spec.target !== 'new' && !spec.update.length && !spec.close && !spec.parent && spec.name === undefined) {
      ctx.fail(p, 'this case block does nothing (no update, parent or close)');
    }
    return spec;
  });
}

function parseLedgers(ctx: Ctx, list: unknown, path: string): LedgerSpec[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) ctx.fail(path, 'expected a list of ledger blocks');
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(item)) return ctx.fail(p, `expected an object, got ${describe(item)}`);
    ctx.known(item, ['balance', 'transfer', 'entity', 'src', 'dest', 'type', 'products', 'sample', 'quantity'], p);
    const balance = ctx.str(item, 'balance', p);
    const transfer = ctx.str(item, 'transfer', p);
    if ((balance === undefined) === (transfer === undefined))
      ctx.fail(p, 'a ledger block needs exactly one of "balance: <section>" or "transfer: <section>"');
    const spec: LedgerSpec = {
      kind: balance !== undefined ? 'balance' : 'transfer',
      section: (balance ?? transfer) as string,
      quantity: ctx.pair(item, 'quantity', p) ?? [0, 100],
    };
    const entity = ctx.str(item, 'entity', p);
    const src = ctx.str(item, 'src', p);
    const dest = ctx.str(item, 'dest', p);
    if (spec.kind === 'balance') {
      if (src !== undefined || dest !== undefined) ctx.fail(p, 'a balance has "entity", not src/dest');
      spec.entity = entity ?? 'subject';
    } else {
      if (entity !== undefined) ctx.fail(p, 'a transfer has "src" and/or "dest", not entity');
      if (src !== undefined) spec.src = src;
      spec.dest = dest ?? (src === undefined ? 'subject' : undefined);
      if (spec.dest === undefined) delete spec.dest;
    }
    const type = ctx.str(item, 'type', p);
    if (type !== undefined) spec.transferType = type;
    const products = ctx.strList(item, 'products', p);
    if (products) spec.products = products;
    const sample = ctx.pair(item, 'sample', p);
    if (sample) spec.sample = sample;
    return spec;
  });
}

/** Checks every value reference resolves and every case/ledger target exists. */
function checkRefs(ctx: Ctx, form: FormDef, path: string): void {
  const check = (ref: string | undefined, scopes: Set<string>[], p: string) => {
    if (ref === undefined) return;
    for (const id of referencedIds(ref)) {
      if (!scopes.some((s) => s.has(id)))
        ctx.fail(
          p,
          `"${id}" is not a question of this form in scope here (an id used in two groups must be referred to by its path, e.g. group/id)`,
        );
    }
  };
  const visit = (nodes: Node[], cases: CaseBlockSpec[], ledgers: LedgerSpec[], scopes: Set<string>[], aliases: Set<string>, p: string) => {
    // Questions are referred to by id, or by path from the form root / repeat item (group/id).
    const ids = new Set<string>();
    const ambiguous = new Set<string>();
    const paths = new Set<string>();
    const topIds = new Set<string>();
    const groupIds = new Set<string>();
    const collect = (ns: Node[], prefix: string) => {
      for (const n of ns) {
        if (n.kind === 'group') collect(n.children, `${prefix}${n.id}/`);
        else {
          const path = prefix + n.id;
          if (paths.has(path)) ctx.fail(p, `question "${path}" is defined twice`);
          paths.add(path);
          if (prefix) {
            ids.add(path);
            if (groupIds.has(n.id)) ambiguous.add(n.id);
            groupIds.add(n.id);
          } else topIds.add(n.id);
          ids.add(n.id);
        }
      }
    };
    collect(nodes, '');
    // A plain id names the question outside groups if there is one, else the only one with that id.
    for (const a of ambiguous) if (!topIds.has(a)) ids.delete(a);
    const here = [ids, ...scopes];
    const localAliases = new Set(aliases);
    cases.forEach((c, i) => {
      const cp = `${p}.cases[${i}]`;
      if (c.target !== 'new' && c.target !== 'subject' && !localAliases.has(c.target))
        ctx.fail(`${cp}.case`, `unknown case "${c.target}" (use subject or an "as" alias defined earlier)`);
      if (c.target === 'subject' && !form.subject) ctx.fail(`${cp}.case`, 'this form has no subject (add "subject: <case type>")');
      if (c.parent) {
        if (c.parent.ref === 'subject' ? !form.subject : !localAliases.has(c.parent.ref))
          ctx.fail(`${cp}.parent`, `unknown parent "${c.parent.ref}"`);
      }
      check(c.name, here, `${cp}.name`);
      for (const [prop, ref] of c.update) check(ref, here, `${cp}.update.${prop}`);
      if (c.alias) localAliases.add(c.alias);
    });
    ledgers.forEach((l, i) => {
      for (const ref of [l.entity, l.src, l.dest]) {
        if (ref !== undefined && (ref === 'subject' ? !form.subject : !localAliases.has(ref)))
          ctx.fail(`${p}.ledgers[${i}]`, `unknown ledger entity "${ref}"`);
      }
    });
    const walk = (ns: Node[], np: string) => {
      ns.forEach((n, i) => {
        if (n.kind === 'group') walk(n.children, `${np}[${i}].questions`);
        else if (n.kind === 'repeat') visit(n.children, n.cases, n.ledgers, here, localAliases, `${np}[${i}]`);
        else if (n.calculate !== undefined) check(n.calculate, here, `${np}[${i}].calculate`);
      });
    };
    walk(nodes, `${p}.questions`);
  };
  visit(form.children, form.cases, form.ledgers, [], new Set(), path);
}

/** Question ids a value reference depends on. */
export function referencedIds(ref: string): string[] {
  const r = ref.trim();
  if (r.startsWith("'") || r === 'today()' || r === 'now()' || r === 'uuid()') return [];
  if (r.includes('{')) return [...r.matchAll(/\{([A-Za-z_][A-Za-z0-9_./-]*)\}/g)].map((m) => m[1] as string);
  return [r];
}

export function parseApp(doc: unknown, source = 'app'): AppDefinition {
  const ctx: Ctx = new Ctx(source);
  if (!isObj(doc)) ctx.fail('', `expected an app object, got ${describe(doc)}`);
  ctx.known(doc, ['name', 'description', 'app_id', 'version', 'track', 'products', 'forms'], '');
  const name = ctx.str(doc, 'name', '', true);
  const app: AppDefinition = {
    name,
    appId: ctx.str(doc, 'app_id', '') ?? '',
    version: ctx.num(doc, 'version', '') ?? 1,
    track: {},
    products: [],
    forms: [],
  };
  if (!app.appId) app.appId = hexId(`app:${name}`);
  const description = ctx.str(doc, 'description', '');
  if (description !== undefined) app.description = description;
  if (doc.track !== undefined) {
    if (!isObj(doc.track)) ctx.fail('track', 'expected a map of case type -> property list');
    for (const key of Object.keys(doc.track)) app.track[key] = ctx.strList(doc.track, key, 'track') ?? [];
  }
  if (doc.products !== undefined) {
    if (!Array.isArray(doc.products)) ctx.fail('products', 'expected a list');
    app.products = doc.products.map((p, i) => {
      if (typeof p === 'string') return { id: hexId(`product:${name}:${p}`), name: p };
      if (!isObj(p)) return ctx.fail(`products[${i}]`, 'expected a name or {id, name}');
      const pn = ctx.str(p, 'name', `products[${i}]`, true);
      return { id: ctx.str(p, 'id', `products[${i}]`) ?? hexId(`product:${name}:${pn}`), name: pn };
    });
  }
  if (!Array.isArray(doc.forms) || doc.forms.length === 0) ctx.fail('forms', 'an app needs a non-empty "forms" list');
  const ids = new Set<string>();
  doc.forms.forEach((f, i) => {
    const p = `forms[${i}]`;
    if (!isObj(f)) ctx.fail(p, `expected an object, got ${describe(f)}`);
    ctx.known(f, ['id', 'name', 'xmlns', 'category', 'weight', 'subject', 'where', 'questions', 'cases', 'ledgers', 'minutes'], p);
    const id = ctx.str(f, 'id', p, true);
    if (ids.has(id)) ctx.fail(`${p}.id`, `form id "${id}" is used twice`);
    ids.add(id);
    const subjectType = ctx.str(f, 'subject', p);
    const category = (ctx.str(f, 'category', p) ?? (subjectType ? 'followup' : 'register')) as FormCategory;
    if (!['register', 'followup', 'close'].includes(category))
      ctx.fail(`${p}.category`, `expected register, followup or close, got "${category}"`);
    const form: FormDef = {
      id,
      name: ctx.str(f, 'name', p) ?? id,
      xmlns: ctx.str(f, 'xmlns', p) ?? `http://openrosa.org/formdesigner/${uuidFrom(`form:${name}:${id}`).toUpperCase()}`,
      category,
      weight: ctx.num(f, 'weight', p) ?? 1,
      children: parseNodes(ctx, f.questions, `${p}.questions`),
      cases: parseCases(ctx, f.cases, `${p}.cases`),
      ledgers: parseLedgers(ctx, f.ledgers, `${p}.ledgers`),
      minutes: ctx.pair(f, 'minutes', p) ?? [2, 12],
    };
    if (form.weight < 0) ctx.fail(`${p}.weight`, 'must be >= 0');
    if (subjectType !== undefined) {
      const where: [string, string][] = [];
      if (f.where !== undefined) {
        if (!isObj(f.where)) ctx.fail(`${p}.where`, 'expected a map of tracked property -> value');
        for (const [k, v] of Object.entries(f.where)) {
          if (!(app.track[subjectType] ?? []).includes(k))
            ctx.fail(`${p}.where.${k}`, `"${k}" is not tracked for case type ${subjectType} (add it under "track")`);
          where.push([k, String(v)]);
        }
      }
      form.subject = { type: subjectType, where };
    } else if (f.where !== undefined) {
      ctx.fail(`${p}.where`, '"where" needs a "subject"');
    }
    if (category !== 'register' && !form.subject) ctx.fail(p, `a ${category} form needs "subject: <case type>"`);
    if (category === 'close' && !form.cases.some((c) => c.close && c.target === 'subject'))
      ctx.fail(p, 'a close form needs a case block with "case: subject" and "close: true"');
    checkRefs(ctx, form, p);
    const needsProducts = (ls: LedgerSpec[]) => ls.some((l) => !l.products);
    if (needsProducts(form.ledgers) && app.products.length === 0)
      ctx.fail(`${p}.ledgers`, 'ledger blocks without "products" need app-level "products"');
    app.forms.push(form);
  });
  return app;
}

/** Parses YAML (or JSON, which is YAML) app text. */
export function parseAppText(text: string, source = 'app'): AppDefinition {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AppError(`${source}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseApp(doc, source);
}

// Deterministic ids for things named in app files (form xmlns, product ids, app id).
function hexId(label: string): string {
  return new Rng(label).hex(16);
}
function uuidFrom(label: string): string {
  return new Rng(label).uuid();
}
