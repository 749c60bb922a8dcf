// Projection: per-unit costs -> a target population -> a verdict on every VM summary row, saying what it rests on.
//
// - measured: this run's (or a calibration profile's) per-unit costs times the target's load. CPU at the peak:
//   peak forms/s (the peak 15 minutes carry `peakShare` of a day's forms, ~3.5 % in commcare_resource_model) x
//   CPU seconds per form, plus restores on the web workers; usable CPU is cores x VMs x `cpuTarget` (70 %).
//   Storage: the sizing model with the measured unit sizes.
// - modelled: the sizing config's own per-unit constants (unit sizes, users per node, process capacities) applied
//   to the target, month by month from the projection's start.
// - not measured: nothing measured or modelled loads the row. A count or a disk the config fixes
//   (static_number, a static_baseline alone) is what produced the table being judged, so it judges nothing.
import { BYTES_PER_UNIT } from './sizing/units.ts';
import {
  capacityFromCpuCost,
  computeVmSummary,
  PERIOD_SECONDS,
  type SizingConfig,
  type SizingOverride,
  type SizingResult,
} from './sizing/index.ts';
import type { Topology, VmRow } from '../topology/model.ts';
import { cost, costSource, isStandIn, type Calibration, type CostKey } from './calibrate.ts';

export interface Target {
  /** First month projected, "YYYY-MM": the run's month unless given. */
  start: string;
  users: number;
  formsPerUserPerMonth: number;
  /** Open cases per user: what a full restore carries. */
  caseLoad: number;
  restoresPerUserPerDay: number;
  /** Months of growth modelled (storage is judged at the last). */
  months: number;
  /** Share of a day's forms in the peak 15 minutes. */
  peakShare: number;
  /** CPU utilisation a row may reach at peak. */
  cpuTarget: number;
  /** HQ web users who request exports (the celery, rabbitmq and redis rows' export load). */
  webUsers: number;
  exportsPerWebUserPerDay: number;
  rowsPerExport: number;
}

export interface TargetSources {
  [k: string]: string;
}

/** The service kind a sizing service or VM row name stands for (commcare-cloud / resource-model names). */
export function kindOfName(name: string): string | undefined {
  const n = name.toLowerCase();
  if (/pillow/.test(n)) return 'pillowtop';
  if (/^(pg|postgres|citus|pgbouncer|rds)|postgres/.test(n)) return 'postgresql';
  if (/^es($|_|-)|elastic|opensearch/.test(n)) return 'elasticsearch';
  if (/kafka/.test(n)) return 'kafka';
  if (/riak|minio|^s3|object|blob/.test(n)) return 'object_storage';
  if (/django|^web|gunicorn|webworker/.test(n)) return 'django';
  if (/celery/.test(n)) return 'celery';
  if (/redis/.test(n)) return 'redis';
  if (/rabbit/.test(n)) return 'rabbitmq';
  if (/nginx|proxy/.test(n)) return 'nginx';
  if (/formplayer/.test(n)) return 'formplayer';
  if (/couch/.test(n)) return 'couchdb';
  return undefined;
}

/** Measured CPU per form (or per request) by service kind: the keys of the calibration. */
const CPU_PER_FORM: Record<string, Parameters<typeof cost>[1]> = {
  pillowtop: 'pillow_cpu_per_form',
  postgresql: 'pg_cpu_per_form',
  elasticsearch: 'es_cpu_per_form',
  kafka: 'kafka_cpu_per_form',
};

export interface Demand {
  kind: string;
  /** Cores needed at the target's peak. */
  peakCores: number;
  basis: string;
  /** Every cost behind it came from the local stand-in (not HQ's own code for Django-side services). */
  standIn: boolean;
}

export interface Load {
  formsPerMonth: number;
  peakFormsPerS: number;
  peakRestoresPerS: number;
  peakRestoredCasesPerS: number;
  /** Peak over mean: peakShare x 86400 / 900. */
  peakFactor: number;
  /** Exports at the peak, concentrated like forms (peakShare of a day's in 15 minutes). */
  peakExportsPerS: number;
  peakExportedRowsPerS: number;
}

export function targetLoad(t: Target): Load {
  const formsPerMonth = t.users * t.formsPerUserPerMonth;
  const perDay = formsPerMonth / 30;
  const peakFormsPerS = (perDay * t.peakShare) / 900;
  const peakRestoresPerS = (t.users * t.restoresPerUserPerDay * t.peakShare) / 900;
  const peakExportsPerS = (t.webUsers * t.exportsPerWebUserPerDay * t.peakShare) / 900;
  return {
    formsPerMonth,
    peakFormsPerS,
    peakRestoresPerS,
    peakRestoredCasesPerS: peakRestoresPerS * t.caseLoad,
    peakFactor: (t.peakShare * 86_400) / 900,
    peakExportsPerS,
    peakExportedRowsPerS: peakExportsPerS * t.rowsPerExport,
  };
}

/** CPU demand at peak for each service kind the calibration measured. */
export function cpuDemands(cal: Calibration, t: Target): Demand[] {
  const load = targetLoad(t);
  const out: Demand[] = [];
  const f = (n: number) => Number(n.toPrecision(3));
  const standIn = (...keys: CostKey[]) => keys.every((k) => cost(cal, k) === undefined || isStandIn(costSource(cal, k)));
  const webForm = cost(cal, 'web_cpu_per_form');
  const webCase = cost(cal, 'web_cpu_per_restored_case');
  if (webForm !== undefined || webCase !== undefined) {
    const a = (webForm ?? 0) * load.peakFormsPerS;
    const b = (webCase ?? 0) * load.peakRestoredCasesPerS;
    out.push({
      kind: 'django',
      peakCores: a + b,
      basis:
        `${f(load.peakFormsPerS)} forms/s x ${webForm !== undefined ? f(webForm) : '?'} CPU s` +
        (webCase !== undefined ? ` + ${f(load.peakRestoredCasesPerS)} restored cases/s x ${f(webCase)} CPU s` : ' (restores not measured)'),
      standIn: standIn('web_cpu_per_form', 'web_cpu_per_restored_case'),
    });
  }
  for (const [kind, key] of Object.entries(CPU_PER_FORM)) {
    const c = cost(cal, key);
    if (c !== undefined)
      out.push({
        kind,
        peakCores: c * load.peakFormsPerS,
        basis: `${f(load.peakFormsPerS)} forms/s x ${f(c)} CPU s`,
        standIn: standIn(key),
      });
  }
  // Export load (stand-in costs from export-storm / mixed-day). Celery: CPU per exported row x rows/s (per export
  // when rows were not counted; the per-export figure already holds its rows' cost, so never both).
  const celRow = cost(cal, 'celery_cpu_per_exported_row');
  const celExp = cost(cal, 'celery_cpu_per_export');
  if (celRow !== undefined)
    out.push({
      kind: 'celery',
      peakCores: celRow * load.peakExportedRowsPerS,
      basis: `${f(load.peakExportedRowsPerS)} exported rows/s x ${f(celRow)} CPU s (exports' work only)`,
      standIn: standIn('celery_cpu_per_exported_row'),
    });
  else if (celExp !== undefined)
    out.push({
      kind: 'celery',
      peakCores: celExp * load.peakExportsPerS,
      basis: `${f(load.peakExportsPerS)} exports/s x ${f(celExp)} CPU s (exports' work only)`,
      standIn: standIn('celery_cpu_per_export'),
    });
  const rabbit = cost(cal, 'rabbitmq_cpu_per_export');
  if (rabbit !== undefined)
    out.push({
      kind: 'rabbitmq',
      peakCores: rabbit * load.peakExportsPerS,
      // The broker's whole CPU over the run divided by the exports: its idle cost is in it, so this is an upper bound.
      basis: `${f(load.peakExportsPerS)} exports/s x ${f(rabbit)} CPU s (upper bound: includes the broker's idle CPU)`,
      standIn: standIn('rabbitmq_cpu_per_export'),
    });
  const redisForm = cost(cal, 'redis_cpu_per_form');
  const redisExp = cost(cal, 'redis_cpu_per_export');
  if (redisForm !== undefined || redisExp !== undefined)
    out.push({
      kind: 'redis',
      peakCores: (redisForm ?? 0) * load.peakFormsPerS + (redisExp ?? 0) * load.peakExportsPerS,
      basis:
        `${f(load.peakFormsPerS)} forms/s x ${redisForm !== undefined ? f(redisForm) : '?'} CPU s` +
        (redisExp !== undefined ? ` + ${f(load.peakExportsPerS)} exports/s x ${f(redisExp)} CPU s` : ' (exports not measured)'),
      standIn: standIn('redis_cpu_per_form', 'redis_cpu_per_export'),
    });
  const ng = cost(cal, 'nginx_cpu_per_request');
  if (ng !== undefined) {
    const rps = load.peakFormsPerS + load.peakRestoresPerS;
    out.push({
      kind: 'nginx',
      peakCores: ng * rps,
      basis: `${f(rps)} requests/s x ${f(ng)} CPU s`,
      standIn: standIn('nginx_cpu_per_request'),
    });
  }
  return out;
}

// ---- the sizing model for the target ------------------------------------------------------------------------

function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const i = y * 12 + (m - 1) + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

function monthsBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let m = start; m <= end && out.length < 1200; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** The month of a date (an ISO time or "YYYY-MM"), or undefined. */
export function monthOf(date: string | undefined): string | undefined {
  const m = date ? /^(\d{4})-(\d{2})/.exec(date) : null;
  return m ? `${m[1]}-${m[2]}` : undefined;
}

const formsField = (config: SizingConfig) =>
  config.usage.find((u) => u.model === 'derived_factor' && u.dependant_field === 'users' && /form/i.test(u.name));

/**
 * Defaults for the target: users and forms per user from the sizing config, case load from the calibration,
 * the start from the run (`runMonth`), else this month.
 */
export function defaultTarget(
  config: SizingConfig,
  cal: Calibration | undefined,
  given: Partial<Target>,
  runMonth?: string,
): { target: Target; sources: TargetSources } {
  const sources: TargetSources = {};
  const users = config.usage.find((u) => u.name === 'users');
  const configUsers = users?.model === 'date_range_value' ? Math.max(0, ...users.ranges.map((r) => r.value)) : undefined;
  const fpu = formsField(config);
  const months = users?.model === 'date_range_value' ? new Set(users.ranges.flatMap((r) => monthsBetween(r.start, r.end))).size : undefined;
  const pick = <K extends keyof Target>(k: K, fallback: Target[K], from: string, alt?: Target[K], altFrom?: string): Target[K] => {
    if (given[k] !== undefined) {
      sources[k] = 'given';
      return given[k]!;
    }
    if (alt !== undefined) {
      sources[k] = altFrom!;
      return alt;
    }
    sources[k] = from;
    return fallback;
  };
  const measuredCaseLoad = cal ? cost(cal, 'cases_per_restore') : undefined;
  const target: Target = {
    start: pick('start', monthOf(new Date().toISOString())!, "this month (the run's date is unknown)", runMonth, "the run's month"),
    users: pick('users', 1000, 'default', configUsers, `sizing config (${config.file})`),
    formsPerUserPerMonth: pick(
      'formsPerUserPerMonth',
      20,
      'default',
      fpu && 'factor' in fpu ? fpu.factor : undefined,
      `sizing config usage.${fpu?.name}.factor`,
    ),
    caseLoad: pick(
      'caseLoad',
      100,
      'default',
      measuredCaseLoad !== undefined && measuredCaseLoad >= 1 ? Math.round(measuredCaseLoad) : undefined,
      'cases per restore in this run',
    ),
    restoresPerUserPerDay: pick('restoresPerUserPerDay', 1, 'default (one sync a day)'),
    months: pick('months', 12, 'default', months, 'sizing config date range'),
    peakShare: pick('peakShare', 0.035, 'commcare_resource_model (peak 15 minutes ~3.5 % of a day)'),
    cpuTarget: pick('cpuTarget', 0.7, 'default'),
    webUsers: 0,
    exportsPerWebUserPerDay: pick('exportsPerWebUserPerDay', 2, "the tool's assumption (2 exports per web user a day)"),
    rowsPerExport: 0,
  };
  target.webUsers = pick('webUsers', Math.max(1, Math.ceil(target.users / 20)), "the tool's assumption (1 web user per 20 mobile workers)");
  // Each web user exports the cases of its share of the mobile workers.
  target.rowsPerExport = pick(
    'rowsPerExport',
    Math.max(1, Math.round((target.users * target.caseLoad) / target.webUsers)),
    "the tool's assumption (target users x case load / web users)",
  );
  return { target, sources };
}

/**
 * Measured per-unit costs as sizing overrides, each with its source: bytes per form (PostgreSQL, Elasticsearch,
 * object storage), bytes per Kafka change and changes per form, users per web VM from web CPU per user-month,
 * and at least the VMs the measured peak needs for services the config gives a fixed count.
 */
export function calibrationOverrides(
  config: SizingConfig,
  cal: Calibration,
  target: Target,
): { overrides: SizingOverride[]; skipped: string[] } {
  const overrides: SizingOverride[] = [];
  const skipped: string[] = [];
  const load = targetLoad(target);
  const demands = cpuDemands(cal, target);
  const from = (key: CostKey) => {
    const src = costSource(cal, key);
    return src ? ` (${src})` : '';
  };
  const formsOf = (fields: string[]) => fields.find((f) => /form/i.test(f));
  const changesOf = (fields: string[]) => fields.find((f) => /kafka|change/i.test(f));
  for (const s of config.services) {
    const kind = kindOfName(s.name);
    const fields = s.storage.data_models.map((d) => d.referenced_field);
    const unit = (key: CostKey, field: string | undefined, what: string) => {
      const v = cost(cal, key);
      if (v === undefined) return;
      if (!field) {
        skipped.push(`${s.name}: no data model on forms to take ${what}`);
        return;
      }
      overrides.push({
        path: `services.${s.name}.storage.data_models.${field}.unit_size`,
        value: Math.round(v),
        source: `measured: ${what}${from(key)}`,
      });
    };
    if (kind === 'postgresql') unit('pg_bytes_per_form', formsOf(fields), 'PostgreSQL bytes per form (all tables)');
    if (kind === 'elasticsearch') unit('es_bytes_per_form', formsOf(fields), 'Elasticsearch bytes per form with its cases');
    if (kind === 'object_storage') unit('request_bytes_per_form', formsOf(fields), 'bytes per submission');
    if (kind === 'kafka') unit('kafka_bytes_per_change', changesOf(fields), 'Kafka bytes per change');
    // CPU: users per web VM from the CPU a user costs in a month, sized for the peak
    if (kind === 'django' && s.usage_capacity_per_node !== undefined && s.usage_field === 'users' && s.process.cores_per_node) {
      const perForm = cost(cal, 'web_cpu_per_form');
      const perCase = cost(cal, 'web_cpu_per_restored_case') ?? 0;
      if (perForm !== undefined) {
        const perUserMonth = perForm * target.formsPerUserPerMonth + perCase * target.caseLoad * target.restoresPerUserPerDay * 30;
        const cap = capacityFromCpuCost({
          cpuSecondsPerUnit: perUserMonth,
          cores: s.process.cores_per_node,
          periodSeconds: PERIOD_SECONDS.month,
          targetUtilisation: target.cpuTarget / load.peakFactor,
        });
        // The stand-in's web workers are not HQ's Django: their CPU would size the web tier far too small.
        if (isStandIn(costSource(cal, 'web_cpu_per_form'))) {
          skipped.push(
            `services.${s.name}.usage_capacity_per_node kept at the config's ${s.usage_capacity_per_node}: web CPU per form is the stand-in's (it would give ${Math.floor(cap)} users per VM)`,
          );
          continue;
        }
        overrides.push({
          path: `services.${s.name}.usage_capacity_per_node`,
          value: Math.max(1, Math.floor(cap * (1 + 1e-9))),
          source: `measured: ${perUserMonth.toPrecision(3)} web CPU s per user-month, ${(target.cpuTarget * 100).toFixed(0)} % at ${load.peakFactor.toFixed(2)}x peak${from('web_cpu_per_form')}`,
        });
      }
    }
    // static services with a measured CPU cost: at least as many VMs as the peak needs
    const d = demands.find((x) => x.kind === kind);
    if (d && kind !== 'django' && !(d.standIn && DJANGO_SIDE.includes(kind ?? '')) && s.static_number && s.process.cores_per_node) {
      const need = Math.ceil(d.peakCores / (s.process.cores_per_node * target.cpuTarget));
      if (need > s.static_number)
        overrides.push({
          path: `services.${s.name}.static_number`,
          value: need,
          source: `measured: ${d.peakCores.toPrecision(3)} cores at peak${standInMark(d)}`,
        });
    }
  }
  const changesPerForm = cost(cal, 'kafka_changes_per_form');
  const kc = config.usage.find((u) => u.model === 'derived_factor' && /kafka|change/i.test(u.name));
  if (changesPerForm !== undefined && kc)
    overrides.push({
      path: `usage.${kc.name}.factor`,
      value: Number(changesPerForm.toPrecision(4)),
      source: `measured: Kafka changes per form${from('kafka_changes_per_form')}`,
    });
  return { overrides, skipped };
}

export interface Projection {
  target: Target;
  targetSources: TargetSources;
  load: Load;
  demands: Demand[];
  /** Target overrides (forms per user) and the measured costs. */
  overrides: SizingOverride[];
  /** Overrides that did not apply to this config, and why. */
  skipped: string[];
  /** The sizing model with the measured costs: the measured route. */
  sizing: SizingResult;
  /** The sizing model with the config's own constants for the target: the modelled route. */
  modelled: SizingResult;
  /** The modelled route with every unit size 0: what the config's static baselines alone give. */
  baselineOnly: SizingResult;
  /** The config as given, at its own (last) summary date: the table it was written to produce. */
  own: SizingResult;
  /** First and last month projected. */
  start: string;
  horizon: string;
  /** Services whose VM count the config fixes (static_number) rather than derives from usage. */
  fixedServices: string[];
  /** Services whose storage comes from usage (data models), not only a static baseline. */
  dataServices: string[];
  notes: string[];
}

/**
 * The sizing config for the target: every date_range_value field moved to [start, start + months - 1], users at
 * the target's count and the others at their last value, so storage grows month by month from the target's usage
 * (the config's start_with, data already held, is kept); forms per user from the target. Computed twice: with the
 * config's constants (modelled) and with the measured costs as overrides (measured).
 */
export function project(config: SizingConfig, cal: Calibration | undefined, given: Partial<Target> = {}, runMonth?: string): Projection {
  const { target, sources } = defaultTarget(config, cal, given, runMonth);
  const cfg = structuredClone(config);
  const skipped: string[] = [];
  const notes: string[] = [];
  const start = target.start;
  const horizon = addMonths(start, target.months - 1);
  for (const u of cfg.usage) {
    if (u.model !== 'date_range_value' || !u.ranges.length) continue;
    if (u.name === 'users') u.ranges = [{ start, end: horizon, value: target.users }];
    else {
      const last = [...u.ranges].sort((a, b) => (a.end < b.end ? -1 : 1))[u.ranges.length - 1]!;
      u.ranges = [{ start, end: horizon, value: last.value }];
      notes.push(`usage.${u.name}: held at the config's last value (${last.value}) from ${start} to ${horizon}`);
    }
  }
  if (!cfg.usage.some((u) => u.name === 'users' && u.model === 'date_range_value'))
    skipped.push('the config has no date_range_value "users" field: users were not applied');
  cfg.summary_dates = [horizon];

  const targetOverrides: SizingOverride[] = [];
  const fpu = formsField(cfg);
  if (fpu)
    targetOverrides.push({
      path: `usage.${fpu.name}.factor`,
      value: target.formsPerUserPerMonth,
      source: 'target: forms per user per month',
    });
  else skipped.push('no derived_factor forms field on users: forms per user per month not applied');

  const load = targetLoad(target);
  const demands = cal ? cpuDemands(cal, target) : [];
  const measured = cal ? calibrationOverrides(cfg, cal, target) : { overrides: [], skipped: [] };
  skipped.push(...measured.skipped);
  const allMonths = monthsBetween(start, horizon);
  const overrides = [...targetOverrides, ...measured.overrides];
  const sizing = computeVmSummary(cfg, overrides, { dates: allMonths });
  const modelled = computeVmSummary(cfg, targetOverrides, { dates: allMonths });
  const bare = structuredClone(cfg);
  for (const svc of bare.services) for (const d of svc.storage.data_models) d.unit_size = 0;
  const baselineOnly = computeVmSummary(bare, targetOverrides, { dates: allMonths });
  const own = computeVmSummary(config);
  const fixedServices = cfg.services
    .filter((x) => x.static_number > 0 && x.usage_capacity_per_node === undefined && !x.process.sub_processes.length)
    .map((x) => x.name);
  const dataServices = cfg.services.filter((x) => x.storage.data_models.length > 0).map((x) => x.name);
  return {
    target,
    targetSources: sources,
    load,
    demands,
    overrides,
    skipped,
    sizing,
    modelled,
    baselineOnly,
    own,
    start,
    horizon,
    fixedServices,
    dataServices,
    notes,
  };
}

// ---- verdicts ---------------------------------------------------------------------------------------------

export type Basis = 'measured' | 'modelled';
export type Verdict = 'enough' | 'short' | 'oversized';

export interface Check {
  resource: 'cpu' | 'ram' | 'storage';
  basis: Basis;
  need: number;
  /** What the row can give: cores x VMs x cpuTarget for measured CPU, else the full figure. */
  capacity: number;
  unit: string;
  utilisation: number;
  detail: string;
  /** Why it is shown but does not decide: stand-in CPU for a Django-side service, RAM that does not scale here. */
  advisory?: 'stand-in' | 'does not scale';
}

export interface Signal {
  name: 'cpu-maxed' | 'iowait-high' | 'paging' | 'memory-full';
  detail: string;
}

export interface Judgement {
  verdict: Verdict;
  /** 1 - highest utilisation (negative when short). */
  headroom: number;
  firstToRunOut: string;
}

export interface RowVerdict {
  row: VmRow;
  kinds: string[];
  services: string[];
  checks: Check[];
  /** What the verdict rests on. */
  label: Basis | 'not measured';
  verdict: Verdict | 'not measured';
  /** The verdict rests on stand-in CPU costs alone (a Django-side row): advisory. */
  advisory?: boolean;
  headroom?: number;
  firstToRunOut?: string;
  /** Both verdicts, when the measured and the modelled ones disagree. */
  disagreement?: { measured: Judgement & { advisory?: boolean }; modelled: Judgement };
  /** Month the disk fills, when within (or extrapolated past) the horizon. */
  storageFullAt?: string;
  /** Storage need per VM per month (GB), on the verdict's basis. */
  storageByMonth?: Array<{ month: string; gbPerVm: number }>;
  signals: Signal[];
  notes: string[];
}

/** Kinds of service a row carries: from the topology's hosts, else guessed from its name. */
export function rowKinds(row: VmRow, topology?: Topology): string[] {
  const hosts = topology?.hosts.filter((h) => h.row === row.name) ?? [];
  const kinds = new Set<string>();
  for (const h of hosts) for (const s of h.services) kinds.add(s.kind);
  if (!kinds.size) {
    const k = kindOfName(row.name);
    if (k) kinds.add(k);
  }
  return [...kinds].sort();
}

/** Below this share of a disk's need coming from usage, the need is the config's static baseline. */
const BASELINE_ONLY_SHARE = 0.05;

/** Services whose CPU is HQ's Python code: a stand-in's CPU per unit says little about them. */
/** Rows loaded by exports: without a measured export they stay "not measured". */
const EXPORT_KINDS = ['celery', 'rabbitmq', 'redis'];
const DJANGO_SIDE = ['django', 'celery', 'pillowtop'];

/** How a demand from the local stack is marked: the stand-in for HQ's own code, else the local stack's service. */
function standInMark(d: Demand): string {
  if (!d.standIn) return '';
  return DJANGO_SIDE.includes(d.kind) ? " (stand-in, not HQ's code)" : ' (local stack)';
}

function judge(row: VmRow, checks: Check[], storageFullAt: string | undefined): Judgement | undefined {
  if (!checks.length) return undefined;
  const worst = checks.reduce((a, b) => (b.utilisation > a.utilisation ? b : a));
  let verdict: Verdict = 'enough';
  if (checks.some((c) => c.utilisation > 1)) verdict = 'short';
  else if (checks.every((c) => c.utilisation < 0.4) && (row.vmCount > 1 || row.coresPerVm > 2)) verdict = 'oversized';
  return {
    verdict,
    headroom: 1 - worst.utilisation,
    firstToRunOut: worst.resource === 'storage' && storageFullAt ? `storage (disk full ${storageFullAt})` : worst.resource,
  };
}

/** Per VM and month, the storage of `services` on this row (GB), from one sizing result. */
function storagePerVm(
  result: SizingResult,
  services: string[],
  share: (name: string) => number,
  vmCount: number,
): Array<{ month: string; gbPerVm: number }> {
  const gbPer = BYTES_PER_UNIT[result.storageUnit as keyof typeof BYTES_PER_UNIT] / BYTES_PER_UNIT.GB;
  return result.summaries.map((m) => {
    let gb = 0;
    for (const n of services) {
      const s = m.services.find((x) => x.name === n);
      if (s) gb += s.storageTotal * gbPer * share(n);
    }
    return { month: m.month, gbPerVm: gb / vmCount };
  });
}

/** The first month the disk is full, or extrapolated from the last month's growth (up to 10 years on). */
function fullAt(byMonth: Array<{ month: string; gbPerVm: number }>, capacity: number): string | undefined {
  const full = byMonth.find((m) => m.gbPerVm > capacity);
  if (full) return full.month;
  if (byMonth.length < 2) return undefined;
  const end = byMonth[byMonth.length - 1]!;
  const growth = end.gbPerVm - byMonth[byMonth.length - 2]!.gbPerVm;
  if (growth <= 0) return undefined;
  const monthsLeft = Math.ceil((capacity - end.gbPerVm) / growth);
  return monthsLeft <= 120 ? addMonths(end.month, Math.max(1, monthsLeft)) : undefined;
}

export function verdicts(
  rows: readonly VmRow[],
  proj: Projection | undefined,
  cal: Calibration | undefined,
  topology: Topology | undefined,
  signals: Map<string, Signal[]>,
): RowVerdict[] {
  const kindsOf = new Map(rows.map((r) => [r.name, rowKinds(r, topology)]));
  const coresOfKind = (kind: string) =>
    rows.filter((r) => kindsOf.get(r.name)!.includes(kind)).reduce((s, r) => s + r.coresPerVm * r.vmCount, 0);
  const vmsOfKind = (kind: string) => rows.filter((r) => kindsOf.get(r.name)!.includes(kind)).reduce((s, r) => s + r.vmCount, 0);
  const modelledLast = proj?.modelled.summaries[proj.modelled.summaries.length - 1];
  const serviceNames = modelledLast?.services.map((s) => s.name) ?? [];
  const measuredPaths = (proj?.overrides ?? []).filter((o) => o.source?.startsWith('measured')).map((o) => o.path);

  return rows.map((row) => {
    const kinds = kindsOf.get(row.name)!;
    const exact = serviceNames.includes(row.name);
    const services = exact ? [row.name] : serviceNames.filter((n) => kinds.includes(kindOfName(n) ?? ''));
    const share = (n: string) => {
      const k = kindOfName(n);
      return k && vmsOfKind(k) > row.vmCount && !exact ? row.vmCount / vmsOfKind(k) : 1;
    };
    const checks: Check[] = [];
    const notes: string[] = [];
    const rowCores = row.coresPerVm * row.vmCount;

    // CPU, measured: this run's per-unit costs x the target's peak
    let measuredNeed = 0;
    const measuredBasis: string[] = [];
    let standIn = true;
    for (const k of kinds) {
      const d = proj?.demands.find((x) => x.kind === k);
      if (!d) continue;
      const part = coresOfKind(k) > 0 ? rowCores / coresOfKind(k) : 1;
      measuredNeed += d.peakCores * part;
      measuredBasis.push(`${k}: ${d.basis}${part < 1 ? ` x ${(part * 100).toFixed(0)} % of its cores` : ''}${standInMark(d)}`);
      if (!(d.standIn && DJANGO_SIDE.includes(k))) standIn = false;
    }
    if (measuredBasis.length && rowCores > 0 && proj) {
      const capacity = rowCores * proj.target.cpuTarget;
      const c: Check = {
        resource: 'cpu',
        basis: 'measured',
        need: measuredNeed,
        capacity,
        unit: 'cores',
        utilisation: measuredNeed / capacity,
        detail: measuredBasis.join('; '),
      };
      // HQ's Django, celery and pillows cost far more CPU than the stand-in: a stand-in figure alone does not decide.
      if (standIn) c.advisory = 'stand-in';
      checks.push(c);
    }
    // CPU, modelled: the VMs the config's per-node capacities give for the target (not a count the config fixes)
    const usageDriven = services.filter((n) => !proj!.fixedServices.includes(n));
    if (modelledLast && usageDriven.length && rowCores > 0) {
      let cores = 0;
      const parts: string[] = [];
      for (const n of usageDriven) {
        const s = modelledLast.services.find((x) => x.name === n)!;
        if (!s.vmsTotal) continue;
        cores += s.coresTotal * share(n);
        parts.push(`${n}: ${s.vmsTotal} VMs x ${s.coresPerVm} cores`);
      }
      const ownLast = proj!.own.summaries.at(-1)!;
      const ownCores = usageDriven.reduce((sum, n) => sum + (ownLast.services.find((x) => x.name === n)?.coresTotal ?? 0) * share(n), 0);
      if (parts.length && Math.abs(ownCores - cores) < 1e-9) {
        notes.push(
          `cpu (modelled): the target gives the config's own figure (${num(cores)} cores, as at ${ownLast.month}): it would only repeat the table`,
        );
      } else if (parts.length) {
        checks.push({
          resource: 'cpu',
          basis: 'modelled',
          need: cores,
          capacity: rowCores,
          unit: 'cores',
          utilisation: cores / rowCores,
          detail: `sizing model at ${proj!.horizon} for ${num(proj!.target.users)} users, the config's capacities (${parts.join('; ')}, estimation buffer included)`,
        });
      }
    }
    // RAM, as measured: shown, not deciding (it does not scale with load in this model)
    const loads = cal?.services.filter((l) => kinds.includes(l.kind) && l.peakRssBytes !== undefined) ?? [];
    if (loads.length && row.ramGbPerVm > 0) {
      let gb = 0;
      for (const l of loads) gb += (l.peakRssBytes! / 1e9) * (coresOfKind(l.kind) > 0 ? rowCores / coresOfKind(l.kind) : 1);
      const capacity = row.ramGbPerVm * row.vmCount;
      checks.push({
        resource: 'ram',
        basis: 'measured',
        need: gb,
        capacity,
        unit: 'GB',
        utilisation: gb / capacity,
        detail: `peak memory of ${loads.map((l) => l.kind).join(', ')} in this run`,
        advisory: 'does not scale',
      });
    }
    // Storage: a data disk only; month by month from the target's usage
    let storageByMonth: RowVerdict['storageByMonth'];
    const storageFull: Partial<Record<Basis, string>> = {};
    // Redis keeps its data in RAM: its disk holds no data to judge, on a row of its own or beside others
    const ramOnly = (n: string) => kindOfName(n) === 'redis';
    const dataServices = services.filter((n) => proj!.dataServices.includes(n) && !ramOnly(n));
    if (services.length && services.every(ramOnly)) notes.push('Redis keeps its data in RAM: its disk is not judged');
    else if (services.length && !dataServices.length)
      notes.push(
        `the disk holds the OS and software only (no data model for ${services.join(', ')} in the sizing config): not judged as a data disk`,
      );
    else if (proj && dataServices.length && row.vmCount > 0) {
      const capacity = row.storageGbPerVm;
      // What usage adds to the config's static baselines, by the config's own constants; when that is next to
      // nothing, the need is the config's own figure and judging the disk by it would only repeat the table.
      const baseline = storagePerVm(proj.baselineOnly, dataServices, share, row.vmCount).at(-1)!.gbPerVm;
      const modelledEnd = storagePerVm(proj.modelled, dataServices, share, row.vmCount).at(-1)!;
      const ownGb = storagePerVm({ ...proj.own, summaries: proj.own.summaries.slice(-1) }, dataServices, share, row.vmCount)[0]!.gbPerVm;
      const routes: Array<[Basis, SizingResult]> = [['modelled', proj.modelled]];
      if (measuredPaths.some((p) => dataServices.some((n) => p.startsWith(`services.${n}.storage.`)) || p.startsWith('usage.')))
        routes.push(['measured', proj.sizing]);
      for (const [basis, result] of routes) {
        const byMonth = storagePerVm(result, dataServices, share, row.vmCount);
        const end = byMonth[byMonth.length - 1]!;
        if (basis === 'measured' && Math.abs(end.gbPerVm - modelledEnd.gbPerVm) < 1e-9) continue;
        // the growth is drawn whether or not the disk is judged by it (the measured route, when there is one, last)
        storageByMonth = byMonth;
        const fromUsage = end.gbPerVm - baseline;
        if (fromUsage < BASELINE_ONLY_SHARE * end.gbPerVm) {
          notes.push(
            `storage (${basis}): ${((100 * Math.max(0, fromUsage)) / Math.max(end.gbPerVm, 1e-12)).toFixed(1)} % of the need at ${end.month} comes from usage, the rest is the config's static baseline: the disk is not judged by it`,
          );
          continue;
        }
        if (basis === 'modelled' && Math.abs(end.gbPerVm - ownGb) < 1e-9) {
          notes.push(
            `storage (modelled): the target gives the config's own figure (${num(end.gbPerVm)} GB per VM): it would only repeat the table`,
          );
          continue;
        }
        checks.push({
          resource: 'storage',
          basis,
          need: end.gbPerVm,
          capacity,
          unit: 'GB per VM',
          utilisation: capacity > 0 ? end.gbPerVm / capacity : Infinity,
          detail: `sizing model at ${end.month} for ${dataServices.join(', ')}, ${basis === 'measured' ? 'measured unit sizes' : "the config's unit sizes"} (storage and estimation buffers included)`,
        });
        const f = fullAt(byMonth, capacity);
        if (f) storageFull[basis] = f;
      }
    }
    if (!kinds.length) notes.push('no service on this row is known (name it as a service, or give hosts in a YAML topology)');

    const measuredChecks = checks.filter((c) => c.basis === 'measured' && !c.advisory);
    const modelledChecks = checks.filter((c) => c.basis === 'modelled');
    const measured = judge(row, measuredChecks, storageFull.measured);
    const modelled = judge(row, modelledChecks, storageFull.modelled);
    const standInOnly = judge(
      row,
      checks.filter((c) => c.advisory === 'stand-in'),
      undefined,
    );
    // Per resource, a measured check stands in for the modelled one; the verdict rests on the worst of them.
    const deciding = [...measuredChecks, ...modelledChecks.filter((c) => !measuredChecks.some((m) => m.resource === c.resource))];
    const out: RowVerdict = {
      row,
      kinds,
      services,
      checks,
      label: 'not measured',
      verdict: 'not measured',
      signals: signals.get(row.name) ?? [],
      notes,
    };
    if (deciding.length) {
      const worst = deciding.reduce((a, b) => (b.utilisation > a.utilisation ? b : a));
      const j = judge(row, deciding, storageFull[worst.basis])!;
      out.label = worst.basis;
      out.verdict = j.verdict;
      out.headroom = j.headroom;
      out.firstToRunOut = j.firstToRunOut;
    } else if (standInOnly) {
      out.label = 'measured';
      out.verdict = standInOnly.verdict;
      out.headroom = standInOnly.headroom;
      out.firstToRunOut = standInOnly.firstToRunOut;
      out.advisory = true;
    } else if (kinds.some((k) => EXPORT_KINDS.includes(k)))
      notes.push(
        "no export's cost was measured in this run, so nothing loads it: not measured (run export-storm, or mixed-day, to measure it)",
      );
    else notes.push('nothing in this run loads it and the sizing config only fixes its size: not measured');
    const otherMeasured = measured ?? standInOnly;
    if (otherMeasured && modelled && otherMeasured.verdict !== modelled.verdict) {
      out.disagreement = { measured: measured ? measured : { ...standInOnly!, advisory: true }, modelled };
    }
    const full = out.label === 'measured' ? (storageFull.measured ?? storageFull.modelled) : storageFull.modelled;
    if (full) out.storageFullAt = full;
    if (storageByMonth) out.storageByMonth = storageByMonth;
    return out;
  });
}

function num(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString('en-US') : String(Number(n.toPrecision(3)));
}
