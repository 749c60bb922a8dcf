// The sizing config: commcare_resource_model's YAML (global settings, `usage` models, `services`), read and
// checked into plain typed data. Field names are the YAML's own, so an override path such as
// "services.pg_main.storage.data_models.forms_total.unit_size" reads like the file. Sizes ("50GB", 2K) are
// turned into bytes here; templated values ('{users}') are resolved from the `sets` variables.
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors.ts';
import { Fields, YamlSource, describe, isRecord, type YamlPath } from '../../core/yaml-source.ts';
import { evaluate } from './expr.ts';
import { BYTES_PER_UNIT, DISPLAY_UNITS, parseSize, type StorageUnit } from './units.ts';

export const USAGE_MODELS = [
  'date_range_value',
  'derived_factor',
  'invert_derived_factor',
  'derived_sum',
  'product',
  'cumulative',
  'cumulative_limited_lifespan',
  'baseline_with_growth',
] as const;
export type UsageModelKind = (typeof USAGE_MODELS)[number];

/** One month's value, or a run of months with one value. Months are "YYYY-MM". */
export interface DateRange {
  start: string;
  end: string;
  value: number;
}

export type UsageDef =
  | { name: string; model: 'date_range_value'; ranges: DateRange[] }
  | { name: string; model: 'derived_factor' | 'invert_derived_factor'; dependant_field: string; factor: number; start_with: number }
  | { name: string; model: 'derived_sum' | 'product'; dependant_fields: string[]; start_with: number }
  | { name: string; model: 'cumulative'; dependant_field: string; start_with: number }
  | { name: string; model: 'cumulative_limited_lifespan'; dependant_field: string; lifespan: number; start_with: number }
  | { name: string; model: 'baseline_with_growth'; dependant_field: string; baseline: number; monthly_growth: number; start_with: number };

export interface DataModelDef {
  referenced_field: string;
  /** Bytes per unit of the referenced usage field. */
  unit_size: number;
}

export interface StorageDef {
  group?: string;
  redundancy_factor: number;
  /** Bytes. */
  static_baseline: number;
  data_models: DataModelDef[];
  override_storage_buffer?: number;
  override_estimation_buffer?: number;
}

export interface SubProcessDef {
  name: string;
  static_number?: number;
  /** Usage that one process carries (e.g. 0.5 requests/s per gunicorn worker). */
  capacity?: number;
}

export interface ProcessDef {
  cores_per_node?: number;
  ram_per_node?: number;
  /** GB per node not available to the ram_model data. */
  ram_static_baseline: number;
  ram_model: DataModelDef[];
  ram_redundancy_factor: number;
  cores_per_sub_process?: number;
  ram_per_sub_process?: number;
  sub_processes: SubProcessDef[];
}

export interface ServiceDef {
  name: string;
  static_number: number;
  usage_capacity_per_node?: number;
  usage_field: string;
  storage_scales_with_nodes: boolean;
  /** Bytes. */
  max_storage_per_node?: number;
  /** Bytes: the least data disk a VM gets (ServiceDef.min_storage_per_node_bytes). */
  min_storage_per_node?: number;
  min_nodes: number;
  include_ha_resources: boolean;
  storage: StorageDef;
  process: ProcessDef;
  aggregation_key?: string;
}

export interface SizingConfig {
  file: string;
  estimation_buffer: number;
  estimation_growth_factor: number;
  storage_buffer: number;
  storage_display_unit: StorageUnit;
  summary_dates: string[];
  /** With several sets, the month at which the sets are compared ("YYYY-MM"). */
  sets_summary_date?: string;
  vm_os_storage_gb: number;
  vm_os_storage_group: string;
  /** Variables from `sets` used to fill '{name}' templates. */
  vars: Record<string, number>;
  /** The chosen combination of sets ("7lakh-2000fpu", as run_model.py names it), when the config has sets. */
  set_name?: string;
  /** Every combination of the sets, in run_model.py's order (get_combined_sets); empty without sets. */
  set_names: string[];
  usage: UsageDef[];
  services: ServiceDef[];
  /** Source line of each usage item, service and list entry, by override-style path, for messages. */
  lines: Record<string, number>;
  /** Settings read but not used by this model (listed so nobody believes they took effect). */
  ignored: string[];
  /** "file:line: ..." notes on what the resource model accepts but looks wrong (duplicate keys, a low ram_model). */
  warnings: string[];
}

/** "file:line: path: message" for a place in the config. */
export function configError(config: Pick<SizingConfig, 'file' | 'lines'>, path: string, message: string): UserError {
  let line: number | undefined;
  for (let p = path; p && line === undefined; p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '') line = config.lines[p];
  return new UserError(`${config.file}${line ? `:${line}` : ''}: ${path}: ${message}`);
}

export interface ReadOptions {
  /** Which entry of each `sets` group to use, by its `name` (default: the first of each group). */
  set?: string;
}

export function readSizingConfig(file: string, options: ReadOptions = {}): SizingConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, expected a sizing config (YAML)`);
    throw new UserError(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseSizingConfig(text, file, options);
}

const GLOBAL_KEYS = [
  'estimation_buffer',
  'estimation_growth_factor',
  'storage_buffer',
  'storage_display_unit',
  'summary_dates',
  'vm_os_storage_gb',
  'vm_os_storage_group',
  'usage',
  'services',
  'sets',
  'sets_summary_date',
];
const SERVICE_KEYS = [
  'static_number',
  'usage_capacity_per_node',
  'usage_field',
  'storage_scales_with_nodes',
  'max_storage_per_node',
  'min_nodes',
  'include_ha_resources',
  'storage',
  'process',
  'aggregation_key',
  'min_storage_per_node',
];
const STORAGE_KEYS = [
  'group',
  'redundancy_factor',
  'static_baseline',
  'data_models',
  'override_storage_buffer',
  'override_estimation_buffer',
];
const PROCESS_KEYS = [
  'cores_per_node',
  'ram_per_node',
  'ram_static_baseline',
  'ram_model',
  'ram_redundancy_factor',
  'cores_per_sub_process',
  'ram_per_sub_process',
  'sub_processes',
];

export function parseSizingConfig(text: string, file: string, options: ReadOptions = {}): SizingConfig {
  // PyYAML keeps the last of two equal keys, so the resource model does; so do we, with a warning.
  const src = new YamlSource(text, file, { duplicateKeys: 'last' });
  if (!isRecord(src.data))
    throw src.error([], `expected a sizing config (a mapping with "usage" and "services"), found ${describe(src.data)}`);
  const top = new Fields(src, [], src.data);
  top.only(GLOBAL_KEYS);
  const lines: Record<string, number> = {};
  const mark = (key: string, path: YamlPath) => {
    const l = src.lineOf(path);
    if (l) lines[key] = l;
  };

  const sets = readSets(src, top, options.set);
  const vars = sets.vars;
  const num = (
    f: Fields,
    key: string,
    opts: { min?: number; integer?: boolean; optional?: boolean; fallback?: number } = {},
  ): number | undefined => {
    const v = f.obj[key];
    if (typeof v === 'string' && /\{\w*\}/.test(v)) return resolveTemplate(src, [...f.path, key], v, vars);
    const n = f.number(key, { min: opts.min, integer: opts.integer, optional: true });
    if (n === undefined) {
      if (opts.fallback !== undefined) return opts.fallback;
      if (opts.optional) return undefined;
      throw f.err(undefined, `missing "${key}"`);
    }
    return n;
  };
  const size = (f: Fields, key: string, fallback?: number): number | undefined => {
    const v = f.obj[key];
    if (v === undefined || v === null) return fallback;
    const bytes = typeof v === 'string' && /\{\w*\}/.test(v) ? resolveTemplate(src, [...f.path, key], v, vars) : parseSize(v);
    if (bytes === undefined) throw f.err(key, `"${key}" must be a size in bytes or with a unit (1200, 2KB, 50GB), found ${describe(v)}`);
    return bytes;
  };

  const unit = (top.string('storage_display_unit', true) ?? 'GB').toUpperCase();
  if (!(DISPLAY_UNITS as string[]).includes(unit))
    throw top.err('storage_display_unit', `storage_display_unit must be one of ${DISPLAY_UNITS.join(', ')}, found "${unit}"`);

  const summaryDates = top.list('summary_dates').map((d, i) => {
    const s = typeof d === 'string' ? d.trim() : String(d);
    const m = /^(\d{4})-(\d{1,2})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12)
      throw src.error(['summary_dates', i], `summary date must be YYYY-MM, found ${describe(d)}`);
    return `${m[1]}-${m[2]!.padStart(2, '0')}`;
  });
  const setsDate = top.string('sets_summary_date', true);
  if (setsDate !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(setsDate))
    throw top.err('sets_summary_date', `sets_summary_date must be YYYY-MM, found "${setsDate}"`);

  const config: SizingConfig = {
    file,
    estimation_buffer: num(top, 'estimation_buffer', { min: 0 })!,
    estimation_growth_factor: num(top, 'estimation_growth_factor', { fallback: 0 })!,
    storage_buffer: num(top, 'storage_buffer', { min: 0 })!,
    storage_display_unit: unit as StorageUnit,
    summary_dates: summaryDates,
    vm_os_storage_gb: num(top, 'vm_os_storage_gb', { min: 0 })!,
    vm_os_storage_group: top.string('vm_os_storage_group'),
    vars,
    set_names: sets.names,
    usage: [],
    services: [],
    lines,
    ignored: [],
    warnings: [...src.warnings],
  };
  if (setsDate) config.sets_summary_date = setsDate;
  if (sets.chosen !== undefined) config.set_name = sets.chosen;

  // Usage models.
  const usage = top.child('usage');
  if (Object.keys(usage.obj).length === 0) throw usage.err(undefined, 'no usage fields');
  for (const [name, raw] of Object.entries(usage.obj)) {
    const path: YamlPath = ['usage', name];
    mark(`usage.${name}`, path);
    const f = Fields.at(src, path, raw);
    const model = f.string('model');
    if (!(USAGE_MODELS as readonly string[]).includes(model))
      throw f.err('model', `unknown model "${model}" (known: ${USAGE_MODELS.join(', ')})`);
    const startWith = () => num(f, 'start_with', { fallback: 0 })!;
    const field = () => f.string('dependant_field');
    let def: UsageDef;
    switch (model as UsageModelKind) {
      case 'date_range_value':
        f.only(['model', 'ranges']);
        def = { name, model: 'date_range_value', ranges: readRanges(src, f, vars) };
        break;
      case 'derived_factor':
      case 'invert_derived_factor':
        f.only(['model', 'dependant_field', 'factor', 'start_with']);
        def = { name, model: model as 'derived_factor', dependant_field: field(), factor: num(f, 'factor')!, start_with: startWith() };
        if (model === 'invert_derived_factor' && def.factor === 0) throw f.err('factor', 'factor must not be 0 (it divides)');
        break;
      case 'derived_sum':
      case 'product': {
        f.only(['model', 'dependant_fields', 'start_with']);
        const fields = f.list('dependant_fields', false).map((x, i) => {
          if (typeof x !== 'string' || !x.trim())
            throw src.error([...path, 'dependant_fields', i], `field name must be a string, found ${describe(x)}`);
          return x.trim();
        });
        if (fields.length === 0) throw f.err('dependant_fields', 'dependant_fields is empty');
        def = { name, model: model as 'derived_sum', dependant_fields: fields, start_with: startWith() };
        break;
      }
      case 'cumulative':
        f.only(['model', 'dependant_field', 'start_with']);
        def = { name, model: 'cumulative', dependant_field: field(), start_with: startWith() };
        break;
      case 'cumulative_limited_lifespan':
        f.only(['model', 'dependant_field', 'lifespan', 'start_with']);
        def = {
          name,
          model: 'cumulative_limited_lifespan',
          dependant_field: field(),
          lifespan: num(f, 'lifespan', { min: 1, integer: true })!,
          start_with: startWith(),
        };
        break;
      case 'baseline_with_growth':
        f.only(['model', 'dependant_field', 'baseline', 'monthly_growth', 'start_with']);
        def = {
          name,
          model: 'baseline_with_growth',
          dependant_field: field(),
          baseline: num(f, 'baseline')!,
          monthly_growth: num(f, 'monthly_growth')!,
          start_with: startWith(),
        };
        break;
    }
    config.usage.push(def);
  }
  const fieldNames = new Set(usageFieldNames(config.usage));
  for (const u of config.usage) {
    for (const dep of usageDependencies(u)) {
      if (!fieldNames.has(dep)) throw configError(config, `usage.${u.name}`, `depends on "${dep}", which is not a usage field`);
    }
  }
  if (!config.usage.some((u) => u.model === 'date_range_value')) {
    throw configError(config, 'usage', 'needs at least one date_range_value field: it sets the months to model');
  }

  // Services.
  const services = top.child('services');
  if (Object.keys(services.obj).length === 0) throw services.err(undefined, 'no services');
  for (const [name, raw] of Object.entries(services.obj)) {
    const path: YamlPath = ['services', name];
    const key = `services.${name}`;
    mark(key, path);
    const f = Fields.at(src, path, raw ?? {});
    f.only(SERVICE_KEYS);

    const st = f.child('storage', true) ?? new Fields(src, [...path, 'storage'], {});
    st.only(STORAGE_KEYS);
    const storage: StorageDef = {
      redundancy_factor: num(st, 'redundancy_factor', { min: 0, fallback: 1 })!,
      static_baseline: size(st, 'static_baseline', 0)!,
      data_models: readDataModels(src, st, 'data_models', `${key}.storage`, lines, fieldNames, size),
    };
    const group = st.string('group', true);
    if (group) storage.group = group;
    const osb = num(st, 'override_storage_buffer', { optional: true });
    if (osb !== undefined) storage.override_storage_buffer = osb;
    const oeb = num(st, 'override_estimation_buffer', { optional: true });
    if (oeb !== undefined) storage.override_estimation_buffer = oeb;

    const pr = f.child('process', true) ?? new Fields(src, [...path, 'process'], {});
    pr.only(PROCESS_KEYS);
    const process: ProcessDef = {
      ram_static_baseline: num(pr, 'ram_static_baseline', { fallback: 0 })!,
      ram_model: readDataModels(src, pr, 'ram_model', `${key}.process`, lines, fieldNames, size),
      ram_redundancy_factor: num(pr, 'ram_redundancy_factor', { min: 0, fallback: 1 })!,
      sub_processes: [],
    };
    for (const k of ['cores_per_node', 'ram_per_node', 'cores_per_sub_process', 'ram_per_sub_process'] as const) {
      const v = num(pr, k, { min: 0, optional: true });
      if (v !== undefined) process[k] = v;
    }
    pr.list('sub_processes').forEach((sp, i) => {
      const sf = Fields.at(src, [...path, 'process', 'sub_processes', i], sp);
      sf.only(['name', 'static_number', 'capacity']);
      const spName = sf.string('name', true) ?? `sub_process_${i + 1}`;
      mark(`${key}.process.sub_processes.${spName}`, sf.path);
      const s: SubProcessDef = { name: spName };
      const sn = num(sf, 'static_number', { min: 0, optional: true });
      const cap = num(sf, 'capacity', { optional: true });
      if (sn) {
        if (cap) throw sf.err('capacity', 'give static_number or capacity, not both');
        s.static_number = sn;
      } else {
        if (!cap || cap <= 0) throw sf.err(undefined, 'needs static_number or a positive capacity');
        s.capacity = cap;
      }
      process.sub_processes.push(s);
    });

    const service: ServiceDef = {
      name,
      static_number: num(f, 'static_number', { min: 0, integer: true, fallback: 0 })!,
      usage_field: f.string('usage_field', true) ?? 'users',
      storage_scales_with_nodes: f.boolean('storage_scales_with_nodes', false),
      min_nodes: num(f, 'min_nodes', { min: 0, integer: true, fallback: 0 })!,
      include_ha_resources: f.boolean('include_ha_resources', false),
      storage,
      process,
    };
    const cap = num(f, 'usage_capacity_per_node', { optional: true });
    if (cap !== undefined) {
      if (cap <= 0) throw f.err('usage_capacity_per_node', 'usage_capacity_per_node must be above 0');
      service.usage_capacity_per_node = cap;
    }
    const maxStorage = size(f, 'max_storage_per_node');
    if (maxStorage) service.max_storage_per_node = maxStorage;
    const minStorage = size(f, 'min_storage_per_node');
    if (minStorage) service.min_storage_per_node = minStorage;
    const agg = f.string('aggregation_key', true);
    if (agg) service.aggregation_key = agg;

    // Checks the Python tool leaves to a crash.
    const computes = process.sub_processes.length > 0 || service.usage_capacity_per_node !== undefined || service.static_number > 0;
    if (computes && (process.cores_per_node === undefined || process.ram_per_node === undefined)) {
      throw configError(config, key, 'needs process.cores_per_node and process.ram_per_node to size its VMs');
    }
    if (process.sub_processes.length && (process.cores_per_sub_process === undefined || process.ram_per_sub_process === undefined)) {
      throw configError(config, `${key}.process`, 'sub_processes need cores_per_sub_process and ram_per_sub_process');
    }
    if (process.sub_processes.length && (!process.cores_per_node || !process.ram_per_node)) {
      throw configError(config, `${key}.process`, 'cores_per_node and ram_per_node must be above 0 with sub_processes');
    }
    const ramPerNode = (process.ram_per_node ?? 0) - process.ram_static_baseline;
    if (process.ram_model.length && ramPerNode === 0) {
      throw configError(
        config,
        `${key}.process`,
        'ram_model needs ram_per_node other than ram_static_baseline (the resource model divides by their difference)',
      );
    }
    if (process.ram_model.length && ramPerNode < 0) {
      // The resource model computes it all the same (ComputeModel.data_frame): the "extra" VMs come out negative.
      config.warnings.push(
        `${config.file}:${src.lineOf([...path, 'process', 'ram_per_node']) ?? '?'}: ${key}.process: ram_per_node (${process.ram_per_node}) is below ram_static_baseline (${process.ram_static_baseline}); computed as the resource model does, which takes VMs away as RAM need grows`,
      );
    }
    if (service.min_storage_per_node && service.storage_scales_with_nodes) {
      // The resource model's check (ServiceDef.validate) never runs, and its storage_scales_with_nodes branch ignores it.
      config.warnings.push(
        `${config.file}:${src.lineOf([...path, 'min_storage_per_node']) ?? '?'}: ${key}.min_storage_per_node has no effect with storage_scales_with_nodes`,
      );
    }
    const usesUsage = process.sub_processes.some((s) => s.capacity) || service.usage_capacity_per_node !== undefined;
    if (usesUsage && !fieldNames.has(service.usage_field)) {
      throw configError(config, key, `usage_field "${service.usage_field}" is not a usage field`);
    }
    config.services.push(service);
  }
  return config;
}

/** The fields a usage list produces, baseline_with_growth's {name}_baseline and {name}_monthly included. */
export function usageFieldNames(usage: readonly UsageDef[]): string[] {
  return usage.flatMap((u) => (u.model === 'baseline_with_growth' ? [u.name, `${u.name}_baseline`, `${u.name}_monthly`] : [u.name]));
}

export function usageDependencies(u: UsageDef): string[] {
  if (u.model === 'date_range_value') return [];
  if ('dependant_fields' in u) return u.dependant_fields;
  return [u.dependant_field];
}

function readDataModels(
  src: YamlSource,
  parent: Fields,
  key: string,
  pathKey: string,
  lines: Record<string, number>,
  fieldNames: Set<string>,
  size: (f: Fields, key: string) => number | undefined,
): DataModelDef[] {
  return parent.list(key).map((raw, i) => {
    const f = Fields.at(src, [...parent.path, key, i], raw);
    f.only(['referenced_field', 'unit_size']);
    const ref = f.string('referenced_field');
    const line = src.lineOf(f.path);
    if (line) lines[`${pathKey}.${key}.${ref}`] = line;
    if (!fieldNames.has(ref)) throw f.err('referenced_field', `"${ref}" is not a usage field`);
    const unit = size(f, 'unit_size');
    if (unit === undefined) throw f.err(undefined, 'missing "unit_size"');
    return { referenced_field: ref, unit_size: unit };
  });
}

function readRanges(src: YamlSource, f: Fields, vars: Record<string, number>): DateRange[] {
  const ranges = f.list('ranges', false);
  if (ranges.length === 0) throw f.err('ranges', 'ranges is empty');
  return ranges.map((r, i) => {
    const path = [...f.path, 'ranges', i];
    if (!Array.isArray(r) || (r.length !== 2 && r.length !== 3)) {
      throw src.error(path, `a range is [date, value] or [start, end, value], found ${describe(r)}`);
    }
    const value = r[r.length - 1];
    let n: number | undefined;
    if (typeof value === 'string' && /\{\w*\}/.test(value)) n = resolveTemplate(src, [...path, r.length - 1], value, vars);
    else if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) n = Number(value);
    if (n === undefined) throw src.error([...path, r.length - 1], `range value must be a number, found ${describe(value)}`);
    const start = readMonth(src, [...path, 0], r[0]);
    const end = r.length === 3 ? readMonth(src, [...path, 1], r[1]) : start;
    if (end < start) throw src.error(path, `range ends (${end}) before it starts (${start})`);
    return { start, end, value: n };
  });
}

/** A month from '20171101', '2017-11-01', '2017-11' or a date. */
function readMonth(src: YamlSource, path: YamlPath, v: unknown): string {
  const s = v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d{4})-?(\d{2})(?:-?(\d{2}))?$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12)
    throw src.error(path, `expected a date such as '20170601' or '2017-06', found ${describe(v)}`);
  const day = m[3] ? Number(m[3]) : 1;
  // A run of months starts at the first month beginning on or after the date (pandas' month-start rule).
  if (day > 1) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  }
  return `${m[1]}-${m[2]}`;
}

function resolveTemplate(src: YamlSource, path: YamlPath, text: string, vars: Record<string, number>): number {
  const filled = text.replace(/\{(\w*)\}/g, (_, name: string) => {
    if (!(name in vars)) throw src.error(path, `"{${name}}" is not a variable of the chosen set`);
    return String(vars[name]);
  });
  const n = Number(filled);
  if (!Number.isFinite(n)) throw src.error(path, `${JSON.stringify(text)} does not give a number (${JSON.stringify(filled)})`);
  return n;
}

interface SetsChoice {
  vars: Record<string, number>;
  /** Every combination's name, in run_model.py's order. */
  names: string[];
  chosen?: string;
}

/**
 * `sets: {group: [{name: a, var: 1, other: var*12}, ...]}`: variables for '{var}' templates. The resource model
 * runs every combination of one entry per group (run_model.py's get_combined_sets), named by joining the entries'
 * names with "-". `wanted` picks a combination by that name, or by the name of one entry (the other groups take
 * their first); the default is the first combination. Values may be arithmetic over earlier variables.
 */
function readSets(src: YamlSource, top: Fields, wanted: string | undefined): SetsChoice {
  const sets = top.child('sets', true);
  if (!sets) {
    if (wanted) throw new UserError(`${src.file}: --vars ${wanted}: the config has no "sets"`);
    return { vars: {}, names: [] };
  }
  const groups = Object.entries(sets.obj).map(([group, entries]) => {
    if (!Array.isArray(entries) || entries.length === 0)
      throw sets.err(group, `sets.${group} must be a non-empty list of named variable sets`);
    return entries.map((e, i) => {
      const f = Fields.at(src, ['sets', group, i], e);
      return { f, name: f.string('name', true) };
    });
  });
  // Cartesian product, the last group varying fastest (itertools.product).
  let combos: Array<(typeof groups)[number]> = [[]];
  for (const g of groups) combos = combos.flatMap((c) => g.map((e) => [...c, e]));
  const nameOf = (c: (typeof groups)[number]) =>
    c
      .map((e) => e.name)
      .filter(Boolean)
      .join('-');
  const names = combos.map(nameOf);
  let index = 0;
  if (wanted !== undefined) {
    index = names.indexOf(wanted);
    if (index < 0)
      index = combos.findIndex((c) => c.some((e) => e.name === wanted) && c.every((e, g) => e.name === wanted || e === groups[g]![0]));
    if (index < 0) throw new UserError(`${src.file}: --vars ${wanted}: no set has that name (sets: ${names.join(', ')})`);
  }
  const vars: Record<string, number> = {};
  for (const { f } of combos[index]!) {
    for (const [k, v] of Object.entries(f.obj)) {
      if (k === 'name') continue;
      if (typeof v === 'number') vars[k] = v;
      else if (typeof v === 'string') {
        try {
          vars[k] = evaluate(v, vars);
        } catch (err) {
          throw f.err(k, (err as Error).message);
        }
      } else throw f.err(k, `variable "${k}" must be a number or an expression, found ${describe(v)}`);
    }
  }
  return { vars, names, chosen: names[index]! };
}

export { BYTES_PER_UNIT };
