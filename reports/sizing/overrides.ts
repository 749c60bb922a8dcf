// Overrides: replace figures of a sizing config without editing it. This is how a calibrated run feeds measured
// per-unit costs into the model (PostgreSQL bytes per form, Elasticsearch bytes per document, usage one
// gunicorn worker carries...), and how `capacity plan --set` tries a what-if.
//
// A path follows the YAML, with list entries named by their key:
//   estimation_buffer | storage_buffer | estimation_growth_factor | vm_os_storage_gb
//   usage.<field>.<factor|start_with|baseline|monthly_growth|lifespan>
//   usage.<field>.value                                   (every range of a date_range_value field)
//   services.<svc>.<usage_capacity_per_node|static_number|min_nodes|max_storage_per_node>
//   services.<svc>.storage.<redundancy_factor|static_baseline|override_storage_buffer|override_estimation_buffer>
//   services.<svc>.storage.data_models.<referenced_field>.unit_size
//   services.<svc>.process.<cores_per_node|ram_per_node|cores_per_sub_process|ram_per_sub_process|ram_static_baseline|ram_redundancy_factor>
//   services.<svc>.process.sub_processes.<name>.<capacity|static_number>
//   services.<svc>.process.ram_model.<referenced_field>.unit_size
// Sizes accept units ("1.1KB"); a data model that the config does not have is added (a new per-unit cost).
import { UserError } from '../../core/errors.ts';
import { usageFieldNames, type DataModelDef, type SizingConfig } from './config.ts';
import { parseSize } from './units.ts';

export interface SizingOverride {
  path: string;
  value: number | string;
  /** Where the figure comes from, e.g. "run 2024-05-01T10:00 (pg bytes / forms)". */
  source?: string;
}

/** A map path -> value, or a list with sources. */
export type SizingOverrides = Record<string, number | string> | readonly SizingOverride[];

export interface AppliedOverride {
  path: string;
  from: number | undefined;
  to: number;
  source?: string;
}

function list(overrides: SizingOverrides | undefined): SizingOverride[] {
  if (!overrides) return [];
  if (Array.isArray(overrides)) return [...(overrides as readonly SizingOverride[])];
  return Object.entries(overrides as Record<string, number | string>).map(([path, value]) => ({ path, value }));
}

const GLOBAL = ['estimation_buffer', 'storage_buffer', 'estimation_growth_factor', 'vm_os_storage_gb'] as const;
const USAGE_PARAMS = ['factor', 'start_with', 'baseline', 'monthly_growth', 'lifespan', 'value'] as const;
const SERVICE_PARAMS = ['usage_capacity_per_node', 'static_number', 'min_nodes', 'max_storage_per_node'] as const;
const STORAGE_PARAMS = ['redundancy_factor', 'static_baseline', 'override_storage_buffer', 'override_estimation_buffer'] as const;
const PROCESS_PARAMS = [
  'cores_per_node',
  'ram_per_node',
  'cores_per_sub_process',
  'ram_per_sub_process',
  'ram_static_baseline',
  'ram_redundancy_factor',
] as const;
const SIZE_PARAMS = new Set(['static_baseline', 'max_storage_per_node', 'unit_size']);

/**
 * A copy of `config` with the overrides applied, and what changed. The input config is not modified. Errors
 * (a path that names nothing, a value that is not a number) are UserErrors naming the path.
 */
export function applyOverrides(config: SizingConfig, overrides?: SizingOverrides): { config: SizingConfig; applied: AppliedOverride[] } {
  const out = structuredClone(config);
  const applied: AppliedOverride[] = [];
  for (const o of list(overrides)) {
    const parts = o.path.split('.');
    const leaf = parts[parts.length - 1]!;
    const bad: (why: string) => never = (why) => {
      throw new UserError(`override ${o.path}: ${why}`);
    };
    const value = SIZE_PARAMS.has(leaf)
      ? parseSize(o.value)
      : typeof o.value === 'number'
        ? o.value
        : Number(String(o.value).trim() || NaN);
    if (value === undefined || !Number.isFinite(value))
      bad(`value ${JSON.stringify(o.value)} is not a number${SIZE_PARAMS.has(leaf) ? ' or size' : ''}`);
    const to = value as number;
    const record = (from: number | undefined) =>
      applied.push(o.source ? { path: o.path, from, to, source: o.source } : { path: o.path, from, to });
    const set = <T extends object>(obj: T, key: string, allowed: readonly string[]) => {
      if (!allowed.includes(key)) bad(`"${key}" cannot be overridden here (one of ${allowed.join(', ')})`);
      const rec = obj as Record<string, unknown>;
      record(typeof rec[key] === 'number' ? (rec[key] as number) : undefined);
      rec[key] = to;
    };

    const [head, name, ...rest] = parts;
    if (parts.length === 1 && (GLOBAL as readonly string[]).includes(head!)) {
      set(out, head!, GLOBAL);
      continue;
    }
    if (head === 'usage' && name && rest.length === 1) {
      const u =
        out.usage.find((x) => x.name === name) ?? bad(`no usage field "${name}" (fields: ${out.usage.map((x) => x.name).join(', ')})`);
      const param = rest[0]!;
      if (param === 'value') {
        if (u.model !== 'date_range_value') bad(`"value" applies to date_range_value fields; "${name}" is ${u.model}`);
        record(u.ranges[0]?.value);
        for (const r of u.ranges) r.value = to;
        continue;
      }
      if (!(param in u))
        bad(`usage field "${name}" (${u.model}) has no "${param}" (one of ${USAGE_PARAMS.filter((p) => p in u).join(', ') || 'nothing'})`);
      if (param === 'lifespan' && (!Number.isInteger(to) || to < 1)) bad('lifespan must be a whole number of months, at least 1');
      set(u, param, USAGE_PARAMS);
      continue;
    }
    if (head === 'services' && name) {
      const s =
        out.services.find((x) => x.name === name) ?? bad(`no service "${name}" (services: ${out.services.map((x) => x.name).join(', ')})`);
      if (rest.length === 1) {
        set(s, rest[0]!, SERVICE_PARAMS);
        continue;
      }
      const [section, a, b, c] = rest;
      if (section === 'storage' && rest.length === 2) {
        set(s.storage, a!, STORAGE_PARAMS);
        continue;
      }
      if (section === 'process' && rest.length === 2) {
        set(s.process, a!, PROCESS_PARAMS);
        continue;
      }
      if ((section === 'storage' && a === 'data_models') || (section === 'process' && a === 'ram_model')) {
        if (!b || c !== 'unit_size' || rest.length !== 4) bad(`expected ...${a}.<referenced_field>.unit_size`);
        const models: DataModelDef[] = section === 'storage' ? s.storage.data_models : s.process.ram_model;
        let m = models.find((x) => x.referenced_field === b);
        if (!m) {
          if (!usageFieldNames(out.usage).includes(b!)) bad(`"${b}" is not a usage field`);
          m = { referenced_field: b!, unit_size: 0 };
          models.push(m);
          record(undefined);
          m.unit_size = to;
          continue;
        }
        record(m.unit_size);
        m.unit_size = to;
        continue;
      }
      if (section === 'process' && a === 'sub_processes' && b && rest.length === 4) {
        const sp = s.process.sub_processes.find((x) => x.name === b) ?? bad(`service "${name}" has no sub_process "${b}"`);
        if (c === 'capacity') {
          if (to <= 0) bad('capacity must be above 0');
          record(sp.capacity);
          sp.capacity = to;
          delete sp.static_number;
        } else if (c === 'static_number') {
          record(sp.static_number);
          sp.static_number = to;
        } else bad('a sub_process override is .capacity or .static_number');
        continue;
      }
    }
    bad('not a path this model knows (see reports/sizing/README.md)');
  }
  return { config: out, applied };
}

/**
 * Usage one process (or node) carries, from a measured CPU cost: cores x target utilisation x seconds in the
 * usage field's period / CPU seconds per unit. E.g. 0.35 CPU s per request, 1 core per gunicorn worker, 70 %
 * target, usage counted per second -> 2 requests/s per worker. Gives a `capacity` or `usage_capacity_per_node`.
 */
export function capacityFromCpuCost(opts: {
  cpuSecondsPerUnit: number;
  cores: number;
  periodSeconds: number;
  targetUtilisation?: number;
}): number {
  const util = opts.targetUtilisation ?? 0.7;
  if (!(opts.cpuSecondsPerUnit > 0)) throw new Error('cpuSecondsPerUnit must be above 0');
  return (opts.cores * util * opts.periodSeconds) / opts.cpuSecondsPerUnit;
}

/** Seconds in the periods that usage fields are counted in. A month is 30 days, as in "forms per month". */
export const PERIOD_SECONDS = { second: 1, fifteenMinutes: 900, day: 86_400, month: 30 * 86_400 } as const;
