// Projection: calibrated per-unit costs -> a target population -> a verdict on every VM summary row.
//
// Two routes, both shown:
// - CPU at the target's peak, straight from the measured costs: peak forms/s (the peak 15 minutes carry
//   `peakShare` of a day's forms, ~3.5 % in commcare_resource_model) x CPU seconds per form for each service,
//   plus restores (restores/user/day x case load x CPU per restored case) on the web workers. A row's usable
//   CPU is cores x VMs x `cpuTarget` (70 %).
// - Storage (and VM counts) through the sizing model (reports/sizing, commcare_resource_model's formulas) with
//   the measured unit sizes as overrides, month by month up to the horizon; a row's storage per VM is compared
//   with its disk column. The model's buffers (storage_buffer, estimation_buffer) stay as configured.
// Services no run measures (celery, formplayer, couchdb...) are judged by the sizing model alone.
import { BYTES_PER_UNIT } from './sizing/units.ts';
import { capacityFromCpuCost, computeVmSummary, PERIOD_SECONDS, type SizingConfig, type SizingOverride, type SizingResult } from './sizing/index.ts';
import type { Topology, VmRow } from '../topology/model.ts';
import { cost, type Calibration } from './calibrate.ts';

export interface Target {
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
  redis: 'redis_cpu_per_form',
};

export interface Demand {
  kind: string;
  /** Cores needed at the target's peak. */
  peakCores: number;
  basis: string;
}

export interface Load {
  formsPerMonth: number;
  peakFormsPerS: number;
  peakRestoresPerS: number;
  peakRestoredCasesPerS: number;
  /** Peak over mean: peakShare x 86400 / 900. */
  peakFactor: number;
}

export function targetLoad(t: Target): Load {
  const formsPerMonth = t.users * t.formsPerUserPerMonth;
  const perDay = formsPerMonth / 30;
  const peakFormsPerS = (perDay * t.peakShare) / 900;
  const peakRestoresPerS = (t.users * t.restoresPerUserPerDay * t.peakShare) / 900;
  return { formsPerMonth, peakFormsPerS, peakRestoresPerS, peakRestoredCasesPerS: peakRestoresPerS * t.caseLoad, peakFactor: (t.peakShare * 86_400) / 900 };
}

/** CPU demand at peak for each service kind the calibration measured. */
export function cpuDemands(cal: Calibration, t: Target): Demand[] {
  const load = targetLoad(t);
  const out: Demand[] = [];
  const f = (n: number) => Number(n.toPrecision(3));
  const webForm = cost(cal, 'web_cpu_per_form');
  const webCase = cost(cal, 'web_cpu_per_restored_case');
  if (webForm !== undefined || webCase !== undefined) {
    const a = (webForm ?? 0) * load.peakFormsPerS;
    const b = (webCase ?? 0) * load.peakRestoredCasesPerS;
    out.push({
      kind: 'django',
      peakCores: a + b,
      basis: `${f(load.peakFormsPerS)} forms/s x ${webForm !== undefined ? f(webForm) : '?'} CPU s` +
        (webCase !== undefined ? ` + ${f(load.peakRestoredCasesPerS)} restored cases/s x ${f(webCase)} CPU s` : ' (restores not measured)'),
    });
  }
  for (const [kind, key] of Object.entries(CPU_PER_FORM)) {
    const c = cost(cal, key);
    if (c !== undefined) out.push({ kind, peakCores: c * load.peakFormsPerS, basis: `${f(load.peakFormsPerS)} forms/s x ${f(c)} CPU s` });
  }
  const ng = cost(cal, 'nginx_cpu_per_request');
  if (ng !== undefined) {
    const rps = load.peakFormsPerS + load.peakRestoresPerS;
    out.push({ kind: 'nginx', peakCores: ng * rps, basis: `${f(rps)} requests/s x ${f(ng)} CPU s` });
  }
  return out;
}

// ---- the sizing model with calibrated figures --------------------------------------------------------------

function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const i = y * 12 + (m - 1) + n;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

/** Defaults for the target from the sizing config (users, forms per user) and the calibration (case load). */
export function defaultTarget(config: SizingConfig, cal: Calibration | undefined, given: Partial<Target>): { target: Target; sources: TargetSources } {
  const sources: TargetSources = {};
  const users = config.usage.find((u) => u.name === 'users');
  const configUsers = users?.model === 'date_range_value' ? Math.max(0, ...users.ranges.map((r) => r.value)) : undefined;
  const fpu = config.usage.find((u) => u.model === 'derived_factor' && u.dependant_field === 'users' && /form/i.test(u.name));
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
    users: pick('users', 1000, 'default', configUsers, `sizing config (${config.file})`),
    formsPerUserPerMonth: pick('formsPerUserPerMonth', 20, 'default', fpu && 'factor' in fpu ? fpu.factor : undefined, `sizing config usage.${fpu?.name}.factor`),
    caseLoad: pick('caseLoad', 100, 'default', measuredCaseLoad !== undefined && measuredCaseLoad >= 1 ? Math.round(measuredCaseLoad) : undefined, 'cases per restore in this run'),
    restoresPerUserPerDay: pick('restoresPerUserPerDay', 1, 'default (one sync a day)'),
    months: pick('months', 12, 'default', months, 'sizing config date range'),
    peakShare: pick('peakShare', 0.035, 'commcare_resource_model (peak 15 minutes ~3.5 % of a day)'),
    cpuTarget: pick('cpuTarget', 0.7, 'default'),
  };
  return { target, sources };
}

function monthsBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let m = start; m <= end && out.length < 1200; m = addMonths(m, 1)) out.push(m);
  return out;
}

export interface Projection {
  target: Target;
  targetSources: TargetSources;
  load: Load;
  demands: Demand[];
  overrides: SizingOverride[];
  /** Overrides that did not apply to this config, and why. */
  skipped: string[];
  sizing: SizingResult;
  /** The month storage is judged at (the last of the horizon). */
  horizon: string;
  /** Services whose VM count the config fixes (static_number) rather than derives from usage. */
  fixedServices: string[];
}

/**
 * The sizing config for the target: users over `months` months (the first month of the config's users range
 * onwards), forms per user, and the calibrated unit sizes and capacities as overrides (each with its source).
 */
export function project(config: SizingConfig, cal: Calibration | undefined, given: Partial<Target> = {}): Projection {
  const { target, sources } = defaultTarget(config, cal, given);
  const cfg = structuredClone(config);
  const skipped: string[] = [];
  const users = cfg.usage.find((u) => u.name === 'users');
  let start = '2025-01';
  if (users?.model === 'date_range_value' && users.ranges.length) {
    start = users.ranges.map((r) => r.start).sort()[0]!;
    users.ranges = [{ start, end: addMonths(start, target.months - 1), value: target.users }];
  } else skipped.push('the config has no date_range_value "users" field: users and months were not applied');
  const horizon = addMonths(start, target.months - 1);
  cfg.summary_dates = [horizon];

  const overrides: SizingOverride[] = [];
  const fpu = cfg.usage.find((u) => u.model === 'derived_factor' && u.dependant_field === 'users' && /form/i.test(u.name));
  if (fpu) overrides.push({ path: `usage.${fpu.name}.factor`, value: target.formsPerUserPerMonth, source: 'target: forms per user per month' });
  else skipped.push('no derived_factor forms field on users: forms per user per month not applied');

  const load = targetLoad(target);
  const demands = cal ? cpuDemands(cal, target) : [];
  if (cal) {
    const formsField = (svcFields: string[]) => svcFields.find((f) => /form/i.test(f));
    const changeField = (svcFields: string[]) => svcFields.find((f) => /kafka|change/i.test(f));
    for (const s of cfg.services) {
      const kind = kindOfName(s.name);
      const fields = s.storage.data_models.map((d) => d.referenced_field);
      const unit = (key: Parameters<typeof cost>[1], field: string | undefined, what: string) => {
        const v = cost(cal, key);
        if (v === undefined) return;
        if (!field) {
          skipped.push(`${s.name}: no data model on forms to take ${what}`);
          return;
        }
        overrides.push({ path: `services.${s.name}.storage.data_models.${field}.unit_size`, value: Math.round(v), source: `measured: ${what}` });
      };
      if (kind === 'postgresql') unit('pg_bytes_per_form', formsField(fields), 'PostgreSQL bytes per form (all tables)');
      if (kind === 'elasticsearch') unit('es_bytes_per_form', formsField(fields), 'Elasticsearch bytes per form with its cases');
      if (kind === 'object_storage') unit('request_bytes_per_form', formsField(fields), 'bytes per submission');
      if (kind === 'kafka') unit('kafka_bytes_per_change', changeField(fields), 'Kafka bytes per change');
      // CPU: users per web VM from the CPU a user costs in a month, sized for the peak
      if (kind === 'django' && s.usage_capacity_per_node !== undefined && s.usage_field === 'users' && s.process.cores_per_node) {
        const perForm = cost(cal, 'web_cpu_per_form');
        const perCase = cost(cal, 'web_cpu_per_restored_case') ?? 0;
        if (perForm !== undefined) {
          const perUserMonth = perForm * target.formsPerUserPerMonth + perCase * target.caseLoad * target.restoresPerUserPerDay * 30;
          const cap = capacityFromCpuCost({ cpuSecondsPerUnit: perUserMonth, cores: s.process.cores_per_node, periodSeconds: PERIOD_SECONDS.month, targetUtilisation: target.cpuTarget / load.peakFactor });
          overrides.push({ path: `services.${s.name}.usage_capacity_per_node`, value: Math.max(1, Math.floor(cap * (1 + 1e-9))), source: `measured: ${perUserMonth.toPrecision(3)} web CPU s per user-month, ${(target.cpuTarget * 100).toFixed(0)} % at ${load.peakFactor.toFixed(2)}x peak` });
        }
      }
      // static services with a measured CPU cost: at least as many VMs as the peak needs
      const d = demands.find((x) => x.kind === kind);
      if (d && kind !== 'django' && s.static_number && s.process.cores_per_node) {
        const need = Math.ceil(d.peakCores / (s.process.cores_per_node * target.cpuTarget));
        if (need > s.static_number) overrides.push({ path: `services.${s.name}.static_number`, value: need, source: `measured: ${d.peakCores.toPrecision(3)} cores at peak` });
      }
    }
    const changesPerForm = cost(cal, 'kafka_changes_per_form');
    const kc = cfg.usage.find((u) => u.model === 'derived_factor' && /kafka|change/i.test(u.name));
    if (changesPerForm !== undefined && kc) overrides.push({ path: `usage.${kc.name}.factor`, value: Number(changesPerForm.toPrecision(4)), source: 'measured: Kafka changes per form' });
  }
  const allMonths = monthsBetween(start, horizon);
  const sizing = computeVmSummary(cfg, overrides, { dates: allMonths });
  const fixedServices = cfg.services.filter((x) => x.static_number > 0 && x.usage_capacity_per_node === undefined && !x.process.sub_processes.length).map((x) => x.name);
  return { target, targetSources: sources, load, demands, overrides, skipped, sizing, horizon, fixedServices };
}

// ---- verdicts ---------------------------------------------------------------------------------------------

export interface Check {
  resource: 'cpu' | 'cpu (model)' | 'ram' | 'storage';
  need: number;
  /** What the row can give: cores x VMs x cpuTarget for measured CPU, else the full figure. */
  capacity: number;
  unit: string;
  utilisation: number;
  basis: string;
  /** Shown but not deciding: RAM as measured (does not scale with load here), model CPU of a fixed VM count. */
  advisory?: boolean;
}

export interface Signal {
  name: 'cpu-maxed' | 'iowait-high' | 'paging' | 'memory-full';
  detail: string;
}

export interface RowVerdict {
  row: VmRow;
  kinds: string[];
  services: string[];
  checks: Check[];
  verdict: 'enough' | 'short' | 'oversized' | 'unknown';
  /** 1 - highest utilisation (negative when short). */
  headroom?: number;
  firstToRunOut?: string;
  /** Month the disk fills, when within (or extrapolated past) the horizon. */
  storageFullAt?: string;
  /** Storage need per VM per month (GB). */
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

export function verdicts(rows: readonly VmRow[], proj: Projection | undefined, cal: Calibration | undefined, topology: Topology | undefined, signals: Map<string, Signal[]>): RowVerdict[] {
  const kindsOf = new Map(rows.map((r) => [r.name, rowKinds(r, topology)]));
  const coresOfKind = (kind: string) => rows.filter((r) => kindsOf.get(r.name)!.includes(kind)).reduce((s, r) => s + r.coresPerVm * r.vmCount, 0);
  const vmsOfKind = (kind: string) => rows.filter((r) => kindsOf.get(r.name)!.includes(kind)).reduce((s, r) => s + r.vmCount, 0);
  const summaries = proj?.sizing.summaries ?? [];
  const last = summaries[summaries.length - 1];
  const gbPer = proj ? BYTES_PER_UNIT[proj.sizing.storageUnit as keyof typeof BYTES_PER_UNIT] / BYTES_PER_UNIT.GB : 1;
  const serviceNames = last?.services.map((s) => s.name) ?? [];

  return rows.map((row) => {
    const kinds = kindsOf.get(row.name)!;
    const exact = serviceNames.includes(row.name);
    const services = exact ? [row.name] : serviceNames.filter((n) => kinds.includes(kindOfName(n) ?? ''));
    const checks: Check[] = [];
    const notes: string[] = [];
    const rowCores = row.coresPerVm * row.vmCount;

    // CPU, measured
    let measuredNeed = 0;
    const measuredBasis: string[] = [];
    const unmeasured: string[] = [];
    for (const k of kinds) {
      const d = proj?.demands.find((x) => x.kind === k);
      if (!d) {
        unmeasured.push(k);
        continue;
      }
      const share = coresOfKind(k) > 0 ? rowCores / coresOfKind(k) : 1;
      measuredNeed += d.peakCores * share;
      measuredBasis.push(`${k}: ${d.basis}${share < 1 ? ` x ${(share * 100).toFixed(0)} % of its cores` : ''}`);
    }
    if (measuredBasis.length && rowCores > 0 && proj) {
      const capacity = rowCores * proj.target.cpuTarget;
      checks.push({ resource: 'cpu', need: measuredNeed, capacity, unit: 'cores', utilisation: measuredNeed / capacity, basis: measuredBasis.join('; ') });
    }
    // CPU, sizing model, for services no run measured
    const modelSvcs = services.filter((n) => unmeasured.includes(kindOfName(n) ?? '') || (exact && !measuredBasis.length));
    if (last && modelSvcs.length && rowCores > 0) {
      let cores = 0;
      for (const n of modelSvcs) {
        const s = last.services.find((x) => x.name === n)!;
        const k = kindOfName(n);
        const share = k && vmsOfKind(k) > row.vmCount && !exact ? row.vmCount / vmsOfKind(k) : 1;
        cores += s.coresTotal * share;
      }
      // A count the config fixes says nothing about load: shown, but it does not decide the verdict.
      const fixed = modelSvcs.every((n) => proj!.fixedServices.includes(n));
      checks.push({ resource: 'cpu (model)', need: cores, capacity: rowCores, unit: 'cores', utilisation: cores / rowCores,
        basis: `sizing model cores for ${modelSvcs.join(', ')} (not measured by this run${fixed ? '; a fixed VM count in the config' : ''})`, ...(fixed ? { advisory: true } : {}) });
    }
    // RAM, as measured
    const loads = cal?.services.filter((l) => kinds.includes(l.kind) && l.peakRssBytes !== undefined) ?? [];
    if (loads.length && row.ramGbPerVm > 0) {
      let gb = 0;
      for (const l of loads) {
        const share = coresOfKind(l.kind) > 0 ? rowCores / coresOfKind(l.kind) : 1;
        gb += (l.peakRssBytes! / 1e9) * share;
      }
      const capacity = row.ramGbPerVm * row.vmCount;
      checks.push({ resource: 'ram', need: gb, capacity, unit: 'GB', utilisation: gb / capacity, basis: `peak memory of ${loads.map((l) => l.kind).join(', ')} in this run (does not scale with load in this model)`, advisory: true });
    }
    // Storage, sizing model month by month
    let storageByMonth: RowVerdict['storageByMonth'];
    let storageFullAt: string | undefined;
    if (summaries.length && services.length && row.vmCount > 0) {
      storageByMonth = summaries.map((m) => {
        let gb = 0;
        for (const n of services) {
          const s = m.services.find((x) => x.name === n);
          if (!s) continue;
          const k = kindOfName(n);
          const share = k && vmsOfKind(k) > row.vmCount && !exact ? row.vmCount / vmsOfKind(k) : 1;
          gb += s.storageTotal * gbPer * share;
        }
        return { month: m.month, gbPerVm: gb / row.vmCount };
      });
      const end = storageByMonth[storageByMonth.length - 1]!;
      if (row.storageGbPerVm > 0 || end.gbPerVm > 0) {
        const capacity = row.storageGbPerVm;
        checks.push({ resource: 'storage', need: end.gbPerVm, capacity, unit: 'GB per VM', utilisation: capacity > 0 ? end.gbPerVm / capacity : Infinity, basis: `sizing model at ${end.month} for ${services.join(', ')} (storage and estimation buffers included)` });
        const full = storageByMonth.find((m) => m.gbPerVm > capacity);
        if (full) storageFullAt = full.month;
        else if (storageByMonth.length >= 2) {
          const prev = storageByMonth[storageByMonth.length - 2]!;
          const growth = end.gbPerVm - prev.gbPerVm;
          if (growth > 0) {
            const monthsLeft = Math.ceil((capacity - end.gbPerVm) / growth);
            if (monthsLeft <= 120) storageFullAt = addMonths(end.month, monthsLeft);
          }
        }
      }
    }
    if (!kinds.length) notes.push('no service on this row is known (name it as a service, or give hosts in a YAML topology)');

    const deciding = checks.filter((c) => !c.advisory);
    let verdict: RowVerdict['verdict'] = 'unknown';
    let headroom: number | undefined;
    let firstToRunOut: string | undefined;
    if (deciding.length) {
      const worst = deciding.reduce((a, b) => (b.utilisation > a.utilisation ? b : a));
      headroom = 1 - worst.utilisation;
      firstToRunOut = worst.resource === 'storage' && storageFullAt ? `storage (disk full ${storageFullAt})` : worst.resource;
      if (deciding.some((c) => c.utilisation > 1)) verdict = 'short';
      else if (deciding.every((c) => c.utilisation < 0.4) && (row.vmCount > 1 || row.coresPerVm > 2)) verdict = 'oversized';
      else verdict = 'enough';
    }
    const out: RowVerdict = { row, kinds, services, checks, verdict, signals: signals.get(row.name) ?? [], notes };
    if (headroom !== undefined) out.headroom = headroom;
    if (firstToRunOut) out.firstToRunOut = firstToRunOut;
    if (storageFullAt) out.storageFullAt = storageFullAt;
    if (storageByMonth) out.storageByMonth = storageByMonth;
    return out;
  });
}
