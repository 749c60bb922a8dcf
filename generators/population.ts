/**
 * A population: a domain, N mobile workers and, per worker, a timeline of forms.
 *
 * Each worker's timeline is a state machine over the cases it owns: registration forms open cases,
 * follow-ups pick an open case (the form's "subject") and update it, close forms close it. A form only
 * ever touches cases that exist at that point of the worker's timeline, and never a closed one.
 * Timelines are independent (each has its own PRNG stream, derived from the seed and the worker index),
 * so worker 7's forms are the same whether 10 or 10,000 workers are generated, in any order, in Node or
 * in k6.
 */
import type { AppDefinition, FormCategory, FormDef } from './app.ts';
import { localeInfo, type LocaleName } from './locales.ts';
import {
  renderForm,
  type AttachmentRef,
  type ExpectedCase,
  type ExpectedLedger,
  type MobileWorker,
  type OpenCase,
  type Recipe,
} from './render.ts';
import { Rng } from './rng.ts';
import { DAY_MS, formatDateTime, parseDay } from './time.ts';
import { ValuePools } from './values.ts';

export type { MobileWorker, OpenCase, ExpectedCase, ExpectedLedger, AttachmentRef } from './render.ts';

export interface PopulationConfig {
  seed: string | number;
  domain: string;
  users: number;
  locale: LocaleName;
  /** Usernames are `<prefix><index>` (zero padded to 4+ digits). */
  usernamePrefix: string;
  /** Target number of open cases per worker (the case load). */
  caseLoad: number;
  /** Registrations stop while a worker has this many open cases (default 2 x caseLoad). */
  maxOpenCases: number;
  /** Start each worker's timeline with registrations until it reaches its case load (phase "preload"). */
  preload: boolean;
  formsPerDay: number;
  workdayHours: number;
  /** First day of work, YYYY-MM-DD. */
  startDate: string;
  /** Relative weights of registrations, follow-ups and closes in the day's work. */
  mix: Record<FormCategory, number>;
  /** Share (0..1) of submissions that are an identical resubmission of an earlier one. */
  duplicates: number;
  /** Share (0..1) of submissions that edit the worker's previous form (same instanceID, new content). */
  edits: number;
  /** Pad forms with extra answers up to about this many bytes (0: natural size). */
  targetFormBytes: number;
  /** Share of forms with <cc:location> in meta. */
  metaLocation: number;
  /** Overrides the locale's UTC offset. */
  utcOffsetMinutes?: number;
  /** Overrides the locale's region for GPS answers. */
  region?: { lat: number; lon: number; radiusKm: number };
  /** cc:appVersion text; default mimics CommCare Android. */
  appVersion?: string;
  /**
   * Real mobile workers to generate for, worker i as identities[i] (a real HQ's workers, learned from their
   * restores): their user_id and username go into every form, so each worker owns the cases its forms create.
   */
  identities?: WorkerIdentity[];
}

/** A mobile worker that exists on a real HQ: its user_id (the restore's Registration uuid) and username. */
export interface WorkerIdentity {
  userId: string;
  /** short (`jdoe`) or full (`jdoe@demo.commcarehq.org`) */
  username: string;
}

export const DEFAULT_POPULATION: Omit<PopulationConfig, 'maxOpenCases'> & { maxOpenCases?: number } = {
  seed: 1,
  domain: 'capacity-test',
  users: 10,
  locale: 'en',
  usernamePrefix: 'mw',
  caseLoad: 30,
  preload: true,
  formsPerDay: 15,
  workdayHours: 8,
  startDate: '2024-03-04',
  mix: { register: 2, followup: 7, close: 1 },
  duplicates: 0,
  edits: 0,
  targetFormBytes: 0,
  metaLocation: 0.5,
};

export type PopulationOptions = Partial<PopulationConfig>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function resolveConfig(opts: PopulationOptions = {}): PopulationConfig {
  const c = { ...DEFAULT_POPULATION, ...stripUndefined(opts) } as PopulationConfig;
  c.mix = { ...DEFAULT_POPULATION.mix, ...(opts.mix ?? {}) };
  if (opts.maxOpenCases === undefined) c.maxOpenCases = Math.max(1, c.caseLoad * 2);
  const intOk = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!intOk(c.users, 1)) throw new ConfigError(`users must be an integer >= 1, got ${c.users}`);
  if (!intOk(c.caseLoad, 0)) throw new ConfigError(`caseLoad must be an integer >= 0, got ${c.caseLoad}`);
  if (!intOk(c.maxOpenCases, 1)) throw new ConfigError(`maxOpenCases must be an integer >= 1, got ${c.maxOpenCases}`);
  if (!(c.formsPerDay > 0)) throw new ConfigError(`formsPerDay must be > 0, got ${c.formsPerDay}`);
  if (!(c.workdayHours > 0 && c.workdayHours <= 24)) throw new ConfigError(`workdayHours must be in (0, 24], got ${c.workdayHours}`);
  for (const k of ['duplicates', 'edits', 'metaLocation'] as const) {
    if (!(c[k] >= 0 && c[k] <= 1)) throw new ConfigError(`${k} must be a share between 0 and 1, got ${c[k]}`);
  }
  if (c.duplicates + c.edits > 0.9) throw new ConfigError('duplicates + edits must leave room for new forms (<= 0.9)');
  for (const [k, v] of Object.entries(c.mix)) if (!(v >= 0)) throw new ConfigError(`mix.${k} must be >= 0, got ${v}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(c.domain))
    throw new ConfigError(`domain "${c.domain}" is not a valid CommCare project space name (lower case letters, digits, -)`);
  if (!/^[a-z][a-z0-9._-]*$/.test(c.usernamePrefix))
    throw new ConfigError(`usernamePrefix "${c.usernamePrefix}" must start with a letter (a-z0-9._-)`);
  try {
    parseDay(c.startDate);
    localeInfo(c.locale);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (!(c.targetFormBytes >= 0)) throw new ConfigError(`targetFormBytes must be >= 0, got ${c.targetFormBytes}`);
  if (c.identities) {
    if (c.identities.length < c.users) throw new ConfigError(`${c.users} workers need ${c.users} identities, got ${c.identities.length}`);
    const seen = new Set<string>();
    for (const id of c.identities) {
      if (!/^[\w-]+$/.test(id.userId) || !id.username)
        throw new ConfigError(`identity ${JSON.stringify(id)} needs a user id (letters, digits, - and _) and a username`);
      if (seen.has(id.userId))
        throw new ConfigError(`user id ${id.userId} appears twice among the identities: one generated worker per real worker`);
      seen.add(id.userId);
    }
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export type SubmissionKind = 'original' | 'duplicate' | 'edit';

/** One generated submission, in a worker's timeline order. */
export interface GeneratedSubmission {
  /** Position in the worker's timeline (0-based). */
  seq: number;
  worker: number;
  username: string;
  formId: string;
  xmlns: string;
  kind: SubmissionKind;
  phase: 'preload' | 'work';
  instanceID: string;
  timeStart: string;
  timeEnd: string;
  xml: string;
  /** Attachments named by the form's image/audio/video answers (bytes are made on demand: see multipart.ts). */
  attachments: AttachmentRef[];
  /** The case blocks the form holds, in document order. */
  cases: ExpectedCase[];
  ledgers: ExpectedLedger[];
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export class Population {
  readonly config: PopulationConfig;
  readonly pools: ValuePools;
  readonly offsetMin: number;
  readonly region: { lat: number; lon: number; radiusKm: number };
  readonly appVersion: string;
  private readonly pad: number;

  constructor(
    readonly app: AppDefinition,
    opts: PopulationOptions = {},
  ) {
    this.config = resolveConfig(opts);
    const info = localeInfo(this.config.locale);
    this.offsetMin = this.config.utcOffsetMinutes ?? info.utcOffsetMinutes;
    this.region = this.config.region ?? info.region;
    this.pools = new ValuePools(this.config.locale, this.config.seed);
    this.pad = Math.max(4, String(this.config.users - 1).length);
    this.appVersion =
      this.config.appVersion ??
      `CommCare Android, version "2.53.1"(463990). App v${app.version}. CommCare Version 2.53.1. Build 463990, built on: 2023-06-08`;
    // Fail now (not mid-corpus) on a faker method that does not exist.
    const check = (nodes: AppDefinition['forms'][number]['children'], form: string) => {
      for (const n of nodes) {
        if (n.kind === 'question' && n.faker) {
          try {
            this.pools.check(n.faker);
          } catch (err) {
            throw new ConfigError(`app ${app.name}, form ${form}, question ${n.id}: ${(err as Error).message}`);
          }
        } else if (n.kind !== 'question') check(n.children, form);
      }
    };
    for (const f of app.forms) check(f.children, f.id);
  }

  get size(): number {
    return this.config.users;
  }

  /** The mobile worker at `index` (0-based); derived from the seed and the index only. */
  user(index: number): MobileWorker {
    if (!Number.isInteger(index) || index < 0 || index >= this.config.users) {
      throw new RangeError(`worker index ${index} out of range 0..${this.config.users - 1}`);
    }
    const rng = new Rng(this.config.seed, 'user', index);
    let username = `${this.config.usernamePrefix}${String(index).padStart(this.pad, '0')}`;
    let userId = rng.hex(16);
    const deviceId = rng.chars(25, DEVICE_ALPHABET);
    const password = rng.chars(12, PASSWORD_ALPHABET);
    const r = this.region;
    const km = Math.sqrt(rng.float()) * r.radiusKm;
    const angle = rng.range(0, 2 * Math.PI);
    const home = {
      lat: r.lat + (km * Math.cos(angle)) / 111.32,
      lon: r.lon + (km * Math.sin(angle)) / (111.32 * Math.cos((r.lat * Math.PI) / 180)),
    };
    let login = `${username}@${this.config.domain}.commcarehq.org`;
    // a real worker keeps every other draw (device, password, home) so the forms differ only in who sent them
    const real = this.config.identities?.[index];
    if (real) {
      userId = real.userId;
      username = real.username.split('@')[0]!;
      login = real.username.includes('@') ? real.username : `${username}@${this.config.domain}.commcarehq.org`;
    }
    return { index, username, login, password, userId, deviceId, home };
  }

  users(): MobileWorker[] {
    return Array.from({ length: this.config.users }, (_, i) => this.user(i));
  }

  /** A fresh timeline for worker `index`, positioned at its first form. */
  timeline(index: number): WorkerTimeline {
    return new WorkerTimeline(this, this.user(index));
  }
}

/** Open cases of one worker, by type, with O(1) add/remove and random pick. */
export class CaseStore {
  private readonly byType = new Map<string, OpenCase[]>();
  private readonly pos = new Map<string, number>();
  private readonly cases = new Map<string, OpenCase>();

  get size(): number {
    return this.cases.size;
  }

  get(id: string): OpenCase | undefined {
    return this.cases.get(id);
  }

  add(c: OpenCase): void {
    if (this.cases.has(c.id)) return;
    let list = this.byType.get(c.type);
    if (!list) this.byType.set(c.type, (list = []));
    this.pos.set(c.id, list.length);
    list.push(c);
    this.cases.set(c.id, c);
  }

  remove(id: string): void {
    const c = this.cases.get(id);
    if (!c) return;
    const list = this.byType.get(c.type)!;
    const i = this.pos.get(id)!;
    const last = list.pop()!;
    if (last.id !== id) {
      list[i] = last;
      this.pos.set(last.id, i);
    }
    this.pos.delete(id);
    this.cases.delete(id);
  }

  count(type: string): number {
    return this.byType.get(type)?.length ?? 0;
  }

  /** A random open case of `type` whose tracked properties match `where` (undefined if none). */
  pick(type: string, where: [string, string][], rng: Rng): OpenCase | undefined {
    const list = this.byType.get(type);
    if (!list || list.length === 0) return undefined;
    if (where.length === 0) return list[Math.floor(rng.float() * list.length)];
    const start = Math.floor(rng.float() * list.length);
    for (let k = 0; k < list.length; k++) {
      const c = list[(start + k) % list.length]!;
      if (where.every(([p, v]) => c.tracked?.[p] === v)) return c;
    }
    return undefined;
  }

  has(type: string, where: [string, string][]): boolean {
    const list = this.byType.get(type);
    if (!list || list.length === 0) return false;
    if (where.length === 0) return true;
    return list.some((c) => where.every(([p, v]) => c.tracked?.[p] === v));
  }
}

interface Previous {
  sub: GeneratedSubmission;
  form: FormDef;
  subject?: OpenCase;
  recipe: Recipe;
}

/**
 * One worker's day after day of work. `next()` returns the next submission; the timeline is endless.
 */
export class WorkerTimeline {
  readonly rng: Rng;
  readonly cases = new CaseStore();
  private seq = 0;
  private clockMs: number;
  private day = 0;
  private formsToday = 0;
  private quotaToday: number;
  private previous: Previous | undefined;
  private readonly recent: GeneratedSubmission[] = [];
  private preloading: boolean;
  private readonly categoryTotals: Record<FormCategory, number> = { register: 0, followup: 0, close: 0 };

  constructor(
    readonly population: Population,
    readonly worker: MobileWorker,
  ) {
    const c = population.config;
    this.rng = new Rng(c.seed, 'timeline', worker.index);
    this.preloading = c.preload && c.caseLoad > 0;
    this.clockMs = 0;
    this.quotaToday = 0;
    this.startDay();
    for (const f of population.app.forms) this.categoryTotals[f.category] += f.weight;
  }

  /** Number of submissions produced so far. */
  get position(): number {
    return this.seq;
  }

  private startDay(): void {
    const c = this.population.config;
    const dayStartLocal = (parseDay(c.startDate) + this.day) * DAY_MS + 8 * 3_600_000;
    this.clockMs = dayStartLocal - this.population.offsetMin * 60_000 + this.rng.int(0, 45 * 60) * 1000;
    this.formsToday = 0;
    this.quotaToday = Math.max(1, Math.round(c.formsPerDay * this.rng.range(0.75, 1.25)));
  }

  private feasible(f: FormDef): boolean {
    return !f.subject || this.cases.has(f.subject.type, f.subject.where);
  }

  private chooseForm(): FormDef {
    const c = this.population.config;
    const forms = this.population.app.forms;
    if (this.preloading) {
      if (this.cases.size >= c.caseLoad) this.preloading = false;
      else {
        const regs = forms.filter((f) => f.category === 'register' && f.weight > 0 && this.feasible(f));
        if (regs.length > 0) return regs[this.rng.weighted(regs.map((f) => f.weight))]!;
        this.preloading = false;
      }
    }
    const full = this.cases.size >= c.maxOpenCases;
    const weights = forms.map((f) => {
      if (!this.feasible(f)) return 0;
      if (full && f.category === 'register') return 0;
      const total = this.categoryTotals[f.category];
      return total > 0 ? (c.mix[f.category] * f.weight) / total : 0;
    });
    if (weights.some((w) => w > 0)) return forms[this.rng.weighted(weights)]!;
    // Nothing in the configured mix can run (e.g. mix without registrations and no cases yet): register.
    const fallback = forms.filter((f) => this.feasible(f) && (!full || f.category !== 'register'));
    const any = fallback.length > 0 ? fallback : forms.filter((f) => this.feasible(f));
    if (any.length === 0)
      throw new Error(`app ${this.population.app.name}: no form can run (every form needs an open case and none registers one)`);
    return any[this.rng.weighted(any.map((f) => f.weight || 1))]!;
  }

  private advanceClock(form: FormDef): [number, number] {
    const c = this.population.config;
    if (this.formsToday >= this.quotaToday) {
      this.day++;
      this.startDay();
    }
    this.formsToday++;
    const start = this.clockMs;
    const durationMs = this.rng.int(form.minutes[0] * 60, form.minutes[1] * 60) * 1000 + this.rng.int(0, 999);
    const end = start + durationMs;
    const slotMs = (c.workdayHours * 3_600_000) / this.quotaToday;
    this.clockMs = end + Math.max(30_000, Math.round((slotMs - durationMs) * this.rng.range(0.3, 1.7)));
    return [start, end];
  }

  private render(form: FormDef, subject: OpenCase | undefined, instanceID: string, replay?: Recipe) {
    const p = this.population;
    const [start, end] = this.advanceClock(form);
    const out = renderForm({
      app: p.app,
      form,
      pools: p.pools,
      rng: this.rng,
      worker: this.worker,
      appVersion: p.appVersion,
      instanceID,
      timeStartMs: start,
      timeEndMs: end,
      offsetMin: p.offsetMin,
      subject,
      replay,
      targetBytes: p.config.targetFormBytes,
      metaLocation: p.config.metaLocation,
    });
    return { out, start, end };
  }

  private apply(cases: ExpectedCase[]): void {
    const track = this.population.app.track;
    for (const e of cases) {
      let open = this.cases.get(e.caseId);
      if (e.create && !open) {
        open = { id: e.caseId, type: e.caseType };
        if (e.index) open.parentId = e.index.caseId;
        this.cases.add(open);
      }
      if (open) {
        const props = track[open.type];
        if (props) {
          for (const prop of props) {
            const v = e.update[prop];
            if (v !== undefined) (open.tracked ??= {})[prop] = v;
          }
        }
      }
      if (e.close) this.cases.remove(e.caseId);
    }
  }

  next(): GeneratedSubmission {
    const c = this.population.config;
    const p = this.population;
    const inWork = !this.preloading;
    if (inWork && this.previous && (c.duplicates > 0 || c.edits > 0)) {
      const r = this.rng.float();
      if (r < c.duplicates && this.recent.length > 0) {
        const orig = this.recent[Math.floor(this.rng.float() * this.recent.length)]!;
        return { ...orig, seq: this.seq++, kind: 'duplicate', phase: 'work' };
      }
      if (r < c.duplicates + c.edits) {
        const prev = this.previous;
        const { out, start, end } = this.render(prev.form, prev.subject, prev.sub.instanceID, prev.recipe);
        const sub: GeneratedSubmission = {
          ...prev.sub,
          seq: this.seq++,
          kind: 'edit',
          phase: 'work',
          xml: out.xml,
          attachments: out.attachments,
          cases: out.cases,
          ledgers: out.ledgers,
          timeStart: formatDateTime(start, p.offsetMin),
          timeEnd: formatDateTime(end, p.offsetMin),
        };
        // The edit replaces the previous form: later duplicates resubmit the edited content.
        this.apply(out.cases);
        this.previous = { ...prev, sub };
        this.remember(sub);
        return sub;
      }
    }
    const form = this.chooseForm();
    const phase = this.preloading ? 'preload' : 'work';
    const subject = form.subject ? this.cases.pick(form.subject.type, form.subject.where, this.rng) : undefined;
    const instanceID = this.rng.uuid();
    const { out, start, end } = this.render(form, subject ? { ...subject } : undefined, instanceID);
    const sub: GeneratedSubmission = {
      seq: this.seq++,
      worker: this.worker.index,
      username: this.worker.username,
      formId: form.id,
      xmlns: form.xmlns,
      kind: 'original',
      phase,
      instanceID,
      timeStart: formatDateTime(start, p.offsetMin),
      timeEnd: formatDateTime(end, p.offsetMin),
      xml: out.xml,
      attachments: out.attachments,
      cases: out.cases,
      ledgers: out.ledgers,
    };
    this.apply(out.cases);
    this.previous = { sub, form, subject: subject ? { ...subject } : undefined, recipe: out.recipe };
    this.remember(sub);
    return sub;
  }

  private remember(sub: GeneratedSubmission): void {
    // Only the latest content of an instanceID may be resubmitted as a duplicate.
    for (let i = this.recent.length - 1; i >= 0; i--) if (this.recent[i]!.instanceID === sub.instanceID) this.recent.splice(i, 1);
    if (this.recent.length >= 4) this.recent.shift();
    this.recent.push(sub);
  }
}
