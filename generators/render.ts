/**
 * Renders one form submission (the XForm instance XML a phone sends) from an app form, a worker and the
 * cases the form acts on. Output layout follows CommCare Android: a compact single line, root with the
 * form xmlns, case blocks with an `n0:` prefix (secondary ones wrapped in <subcase_N>), ledger blocks in
 * the ledger/v1 namespace, and the meta block in the OpenRosa namespace with `cc:appVersion`.
 */
import { type AppDefinition, type CaseBlockSpec, type FormDef, type LedgerSpec, type Node, type Question } from './app.ts';
import { esc, escText, NS } from './xml.ts';
import type { Rng } from './rng.ts';
import type { ValuePools } from './values.ts';
import { DAY_MS, formatDateTime, formatDay, formatTimeOfDay, localDay } from './time.ts';

export interface MobileWorker {
  index: number;
  /** Short username, as in form meta (e.g. `mw0007`). */
  username: string;
  /** Login for HTTP auth: `<username>@<domain>.commcarehq.org`. */
  login: string;
  password: string;
  /** 32-hex CouchDB-style user id. */
  userId: string;
  deviceId: string;
  /** Where this worker works: GPS answers are drawn around it. */
  home: { lat: number; lon: number };
}

/** A case the worker has open at a point of its timeline. */
export interface OpenCase {
  id: string;
  type: string;
  parentId?: string;
  tracked?: Record<string, string>;
}

/** What a form does to one case (one entry per case block, in document order). */
export interface ExpectedCase {
  caseId: string;
  /** Case type: set for creates; for updates of known cases too. */
  caseType: string;
  create: boolean;
  caseName?: string;
  ownerId?: string;
  update: Record<string, string>;
  index?: { identifier: string; caseType: string; caseId: string; relationship: 'child' | 'extension' };
  close: boolean;
}

export interface ExpectedLedger {
  kind: 'balance' | 'transfer';
  sectionId: string;
  entityId?: string;
  src?: string;
  dest?: string;
  date: string;
  entries: { id: string; quantity: number }[];
}

export interface AttachmentRef {
  name: string;
  contentType: string;
  size: number;
}

/** What is needed to re-render the same form with other answers (an edit): same cases, same shape. */
export interface Recipe {
  caseIds: string[];
  repeatCounts: number[];
}

export interface RenderInput {
  app: AppDefinition;
  form: FormDef;
  pools: ValuePools;
  rng: Rng;
  worker: MobileWorker;
  appVersion: string;
  instanceID: string;
  timeStartMs: number;
  timeEndMs: number;
  offsetMin: number;
  subject?: OpenCase;
  replay?: Recipe;
  /** Pad the form with extra survey answers up to about this many bytes (0: no padding). */
  targetBytes: number;
  /** Share of forms that carry <cc:location> in meta. */
  metaLocation: number;
}

export interface RenderOutput {
  xml: string;
  recipe: Recipe;
  cases: ExpectedCase[];
  ledgers: ExpectedLedger[];
  attachments: AttachmentRef[];
}

const MIME: Record<string, [string, string]> = {
  image: ['jpg', 'image/jpeg'],
  audio: ['m4a', 'audio/mp4'],
  video: ['mp4', 'video/mp4'],
};

type Scope = Map<string, string>;

class Renderer {
  readonly cases: ExpectedCase[] = [];
  readonly ledgers: ExpectedLedger[] = [];
  readonly attachments: AttachmentRef[] = [];
  readonly recipe: Recipe = { caseIds: [], repeatCounts: [] };
  private readonly aliases = new Map<string, { id: string; type: string }>();
  private caseCursor = 0;
  private repeatCursor = 0;
  private readonly formDay: number;
  private readonly timeEnd: string;
  private readonly dateModified: string;
  private attachmentSeq = 0;

  constructor(readonly inp: RenderInput) {
    this.formDay = localDay(inp.timeEndMs, inp.offsetMin);
    this.timeEnd = formatDateTime(inp.timeEndMs, inp.offsetMin);
    this.dateModified = this.timeEnd;
  }

  render(): string {
    const { inp } = this;
    const { form } = inp;
    const rootScope: Scope = new Map();
    const targets = this.allocate(form.cases);
    let body = this.nodes(form.children, [rootScope]);
    body += this.caseBlocks(form.cases, [rootScope], targets);
    body += this.ledgerBlocks(form.ledgers);
    const head =
      `<?xml version='1.0' ?><data uiVersion="1" version="${inp.app.version}" name="${esc(form.name)}" ` +
      `xmlns:jrm="${NS.jrm}" xmlns:cc="${NS.cc}" xmlns="${esc(form.xmlns)}">`;
    const meta = this.meta();
    const size = head.length + body.length + meta.length + 7;
    if (inp.targetBytes > size) body += this.padding(inp.targetBytes - size);
    return head + body + meta + '</data>';
  }

  private meta(): string {
    const { inp } = this;
    const w = inp.worker;
    let loc = '';
    if (inp.metaLocation > 0 && inp.rng.chance(inp.metaLocation)) loc = `<cc:location>${this.geopoint()}</cc:location>`;
    return (
      `<n1:meta xmlns:n1="${NS.jrx}">` +
      `<n1:deviceID>${escText(w.deviceId)}</n1:deviceID>` +
      `<n1:timeStart>${formatDateTime(inp.timeStartMs, inp.offsetMin)}</n1:timeStart>` +
      `<n1:timeEnd>${this.timeEnd}</n1:timeEnd>` +
      `<n1:username>${escText(w.username)}</n1:username>` +
      `<n1:userID>${w.userId}</n1:userID>` +
      `<n1:instanceID>${inp.instanceID}</n1:instanceID>` +
      `<cc:appVersion>${escText(inp.appVersion)}</cc:appVersion>` +
      loc +
      `<n1:drift>0</n1:drift>` +
      `</n1:meta>`
    );
  }

  /** Extra free-text answers (a long survey section) until the form reaches the target size. */
  private padding(deficit: number): string {
    const { rng, pools } = this.inp;
    const sentences = pools.pool('lorem.sentence');
    let out = '<extra_questions>';
    let n = 0;
    const limit = deficit - 18;
    while (out.length < limit) {
      const id = ++n;
      out += `<q${id}>${escText(sentences[Math.floor(rng.float() * sentences.length)]!)}</q${id}>`;
    }
    return out + '</extra_questions>';
  }

  private nodes(list: Node[], scopes: Scope[], prefix = ''): string {
    let out = '';
    for (const n of list) {
      if (n.kind === 'question') {
        const v = this.answer(n, scopes);
        const scope = scopes[0]!;
        if (prefix) {
          scope.set(prefix + n.id, v);
          if (!scope.has(n.id)) scope.set(n.id, v);
        } else scope.set(n.id, v);
        out += v === '' ? `<${n.id}/>` : `<${n.id}>${escText(v)}</${n.id}>`;
      } else if (n.kind === 'group') {
        out += `<${n.id}>${this.nodes(n.children, scopes, `${prefix}${n.id}/`)}</${n.id}>`;
      } else {
        let count: number;
        if (this.inp.replay) count = this.inp.replay.repeatCounts[this.repeatCursor++] ?? n.count[0];
        else count = this.inp.rng.int(n.count[0], n.count[1]);
        this.recipe.repeatCounts.push(count);
        for (let i = 0; i < count; i++) {
          const scope: Scope = new Map();
          const inner = [scope, ...scopes];
          const targets = this.allocate(n.cases);
          let item = this.nodes(n.children, inner);
          item += this.caseBlocks(n.cases, inner, targets);
          item += this.ledgerBlocks(n.ledgers);
          out += `<${n.id}>${item}</${n.id}>`;
        }
      }
    }
    return out;
  }

  private geopoint(): string {
    const { rng } = this.inp;
    const home = this.inp.worker.home;
    const km = Math.abs(rng.range(-1, 1) + rng.range(-1, 1)) * 1.5;
    const angle = rng.range(0, 2 * Math.PI);
    const lat = home.lat + (km * Math.cos(angle)) / 111.32;
    const lon = home.lon + (km * Math.sin(angle)) / (111.32 * Math.cos((home.lat * Math.PI) / 180));
    return `${lat.toFixed(6)} ${lon.toFixed(6)} ${rng.range(20, 1800).toFixed(1)} ${rng.range(3, 30).toFixed(1)}`;
  }

  private answer(q: Question, scopes: Scope[]): string {
    const { rng, pools } = this.inp;
    if (q.optional > 0 && rng.chance(q.optional)) return '';
    switch (q.type) {
      case 'text':
        if (q.values) return rng.pick(q.values);
        if (q.faker) return pools.draw(q.faker, rng);
        return pools.words(q.words ? rng.int(q.words[0], q.words[1]) : rng.int(1, 4), rng);
      case 'int':
        return String(rng.int(q.min ?? 0, q.max ?? 100));
      case 'decimal':
        return rng.range(q.min ?? 0, q.max ?? 100).toFixed(q.decimals ?? 1);
      case 'date': {
        const d = q.days ?? [-30, 0];
        return formatDay(this.formDay + rng.int(d[0], d[1]));
      }
      case 'datetime': {
        const d = q.days ?? [-1, 0];
        const ms = this.inp.timeEndMs + rng.int(d[0], d[1]) * DAY_MS - rng.int(0, 6 * 3600) * 1000;
        return formatDateTime(ms, this.inp.offsetMin);
      }
      case 'time':
        return formatTimeOfDay(rng.int(6 * 3600, 20 * 3600));
      case 'select1':
        return q.weights ? q.choices![rng.weighted(q.weights)]! : rng.pick(q.choices!);
      case 'select': {
        const choices = q.choices!;
        const [lo, hi] = q.pick ?? [1, Math.min(3, choices.length)];
        const k = Math.min(choices.length, rng.int(lo, hi));
        if (k <= 0) return '';
        // choose k distinct indices, output in choice order (as CommCare does)
        const chosen = new Array<boolean>(choices.length).fill(false);
        let picked = 0;
        while (picked < k) {
          const i = Math.floor(rng.float() * choices.length);
          if (!chosen[i]) {
            chosen[i] = true;
            picked++;
          }
        }
        let s = '';
        for (let i = 0; i < choices.length; i++) if (chosen[i]) s += (s ? ' ' : '') + choices[i];
        return s;
      }
      case 'geopoint':
        return this.geopoint();
      case 'phone':
        return pools.phone(rng);
      case 'barcode':
        return rng.chars(q.digits ?? 12, '0123456789');
      case 'image':
      case 'audio':
      case 'video': {
        const [ext, contentType] = MIME[q.type]!;
        const name = `${this.inp.timeEndMs + this.attachmentSeq++}.${ext}`;
        const [lo, hi] = q.sizeKB ?? (q.type === 'image' ? [60, 400] : [40, 300]);
        this.attachments.push({ name, contentType, size: rng.int(lo * 1024, hi * 1024) });
        return name;
      }
      case 'hidden':
        if (q.values) return rng.pick(q.values);
        return this.evalRef(q.calculate!, scopes);
    }
  }

  evalRef(ref: string, scopes: Scope[]): string {
    const r = ref.trim();
    const c0 = r.charCodeAt(0);
    if (c0 === 39 /* ' */) return r.slice(1, r.endsWith("'") ? -1 : undefined);
    if (r === 'today()') return formatDay(this.formDay);
    if (r === 'now()') return this.timeEnd;
    if (r === 'uuid()') return this.inp.rng.uuid();
    if (r.includes('{')) return r.replace(/\{([A-Za-z_][A-Za-z0-9_./-]*)\}/g, (_, id: string) => lookup(scopes, id));
    return lookup(scopes, r);
  }

  private nextCaseId(): string {
    const replay = this.inp.replay;
    const id = replay ? (replay.caseIds[this.caseCursor++] ?? this.inp.rng.uuid()) : this.inp.rng.uuid();
    this.recipe.caseIds.push(id);
    return id;
  }

  private resolve(ref: string): { id: string; type: string } {
    if (ref === 'subject') {
      const s = this.inp.subject;
      if (!s) throw new Error(`form ${this.inp.form.id} refers to its subject but has none`);
      return { id: s.id, type: s.type };
    }
    const a = this.aliases.get(ref);
    if (!a) throw new Error(`form ${this.inp.form.id}: unknown case alias "${ref}"`);
    return a;
  }

  /**
   * Case ids of the blocks at one level are fixed before its questions are rendered (in CommCare they are
   * calculated with uuid() when the form opens), so repeats inside can index to a case created around them.
   */
  private allocate(specs: CaseBlockSpec[]): { id: string; type: string }[] {
    const targets: { id: string; type: string }[] = [];
    for (const spec of specs) {
      const target = spec.target === 'new' ? { id: this.nextCaseId(), type: spec.caseType! } : this.resolve(spec.target);
      if (spec.alias) this.aliases.set(spec.alias, target);
      targets.push(target);
    }
    return targets;
  }

  private caseBlocks(specs: CaseBlockSpec[], scopes: Scope[], targets: { id: string; type: string }[]): string {
    let out = '';
    let sub = 0;
    const userId = this.inp.worker.userId;
    for (let b = 0; b < specs.length; b++) {
      const spec = specs[b]!;
      const isNew = spec.target === 'new';
      const target = targets[b]!;
      const exp: ExpectedCase = { caseId: target.id, caseType: target.type, create: isNew, update: {}, close: spec.close };
      let block = `<n0:case case_id="${target.id}" date_modified="${this.dateModified}" user_id="${userId}" xmlns:n0="${NS.case}">`;
      if (isNew) {
        const name = this.evalRef(spec.name!, scopes);
        exp.caseName = name;
        exp.ownerId = userId;
        block += `<n0:create><n0:case_type>${escText(target.type)}</n0:case_type><n0:case_name>${escText(name)}</n0:case_name><n0:owner_id>${userId}</n0:owner_id></n0:create>`;
      }
      const upd = spec.update;
      if (upd.length > 0 || (!isNew && spec.name !== undefined)) {
        block += '<n0:update>';
        if (!isNew && spec.name !== undefined) {
          const v = this.evalRef(spec.name, scopes);
          exp.update.case_name = v;
          block += v === '' ? '<n0:case_name/>' : `<n0:case_name>${escText(v)}</n0:case_name>`;
        }
        for (let i = 0; i < upd.length; i++) {
          const [prop, ref] = upd[i]!;
          const v = this.evalRef(ref, scopes);
          exp.update[prop] = v;
          block += v === '' ? `<n0:${prop}/>` : `<n0:${prop}>${escText(v)}</n0:${prop}>`;
        }
        block += '</n0:update>';
      }
      if (spec.parent) {
        const p = this.resolve(spec.parent.ref);
        const rel = spec.parent.relationship;
        exp.index = { identifier: spec.parent.identifier, caseType: p.type, caseId: p.id, relationship: rel };
        block += `<n0:index><n0:${spec.parent.identifier} case_type="${esc(p.type)}"${rel === 'extension' ? ' relationship="extension"' : ''}>${p.id}</n0:${spec.parent.identifier}></n0:index>`;
      }
      if (spec.close) block += '<n0:close/>';
      block += '</n0:case>';
      this.cases.push(exp);
      if (spec.wrap) out += `<subcase_${sub}>${block}</subcase_${sub}>`;
      else out += block;
      if (spec.wrap) sub++;
    }
    return out;
  }

  private ledgerBlocks(specs: LedgerSpec[]): string {
    let out = '';
    const { rng, app } = this.inp;
    const date = formatDay(this.formDay);
    for (const spec of specs) {
      let products = spec.products ?? app.products.map((p) => p.id);
      if (spec.sample) {
        const k = Math.min(products.length, rng.int(spec.sample[0], spec.sample[1]));
        const copy = products.slice();
        for (let i = 0; i < k; i++) {
          const j = i + Math.floor(rng.float() * (copy.length - i));
          const t = copy[i]!;
          copy[i] = copy[j]!;
          copy[j] = t;
        }
        products = copy.slice(0, k);
      }
      const exp: ExpectedLedger = { kind: spec.kind, sectionId: spec.section, date, entries: [] };
      let attrs: string;
      if (spec.kind === 'balance') {
        const entity = this.resolve(spec.entity ?? 'subject').id;
        exp.entityId = entity;
        attrs = `entity-id="${entity}" date="${date}" section-id="${esc(spec.section)}"`;
      } else {
        const src = spec.src ? this.resolve(spec.src).id : undefined;
        const dest = spec.dest ? this.resolve(spec.dest).id : undefined;
        if (src) exp.src = src;
        if (dest) exp.dest = dest;
        attrs = `${src ? `src="${src}" ` : ''}${dest ? `dest="${dest}" ` : ''}date="${date}" section-id="${esc(spec.section)}"${spec.transferType ? ` type="${esc(spec.transferType)}"` : ''}`;
      }
      let block = `<n2:${spec.kind} xmlns:n2="${NS.ledger}" ${attrs}>`;
      for (const id of products) {
        const quantity = rng.int(spec.quantity[0], spec.quantity[1]);
        exp.entries.push({ id, quantity });
        block += `<n2:entry id="${esc(id)}" quantity="${quantity}"/>`;
      }
      out += block + `</n2:${spec.kind}>`;
      this.ledgers.push(exp);
    }
    return out;
  }
}

function lookup(scopes: Scope[], id: string): string {
  for (let i = 0; i < scopes.length; i++) {
    const v = scopes[i]!.get(id);
    if (v !== undefined) return v;
  }
  return '';
}

export function renderForm(inp: RenderInput): RenderOutput {
  const r = new Renderer(inp);
  const xml = r.render();
  return { xml, recipe: r.recipe, cases: r.cases, ledgers: r.ledgers, attachments: r.attachments };
}
