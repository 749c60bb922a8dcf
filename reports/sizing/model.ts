// Usage -> per-service storage and compute -> the VM summary, month by month, as commcare_resource_model
// (master 7865ae1) computes it: generate_service_data and ComputeModel (core/generate.py), get_summary_data and
// summarize_service_data (core/summarize.py). The formulas are in README.md beside this file.
import { UserError } from '../../core/errors.ts';
import type { VmRow } from '../../topology/model.ts';
import { configError, type DataModelDef, type ServiceDef, type SizingConfig } from './config.ts';
import { BYTES_PER_UNIT, clean, tenthRound } from './units.ts';
import { computeUsage, type UsageFrame } from './usage.ts';

/** Storage and compute of one service before buffers, one value per month. */
export interface ServiceData {
  name: string;
  /** Data storage in bytes: data models x unit size x redundancy (+ static baseline), with the storage buffer. */
  storageBytes: number[];
  /** VMs the usage needs, before the estimation buffer (the resource model's "Compute VMs"). */
  computeVms: number[];
  /** VMs added to keep storage per VM under max_storage_per_node. */
  extraVmsStorage: number[];
  /** VMs added because the ram_model needs more RAM. */
  extraVmsRam: number[];
  /** RAM the ram_model asks for, GB. */
  ramRequirementGb: number[];
  /** Processes (sub_processes) when the service has them. */
  processes?: number[];
}

/** One row of the detailed summary for one month. */
export interface ServiceSummary {
  name: string;
  coresPerVm: number;
  ramGbPerVm: number;
  /** Data storage per VM in GB, rounded as the resource model shows it (tenthRound). */
  storageGbPerVm: number;
  /** VMs including HA copies. */
  vmsTotal: number;
  vmsHa: number;
  /** VMs added by the estimation buffer. */
  vmBuffer: number;
  coresTotal: number;
  ramTotalGb: number;
  /** Data storage over all VMs (HA included), in the config's display unit, tenthRound-ed. */
  storageTotal: number;
  storageGroup?: string;
  osStorageTotalGb: number;
  /** Usage field value that sized the service this month. */
  usage?: number;
}

export interface MonthSummary {
  month: string;
  users?: number;
  services: ServiceSummary[];
  /** The VM summary: services with at least one VM. */
  vmRows: VmRow[];
  /** Services with storage but no VM (e.g. S3-style object storage). */
  storageOnly: Array<{ name: string; storageTotal: number; storageGroup?: string }>;
  /** Storage per group in the display unit, OS disks added to vm_os_storage_group. */
  storageByGroup: Record<string, number>;
  totals: { vms: number; cores: number; ramGb: number; storageTotal: number; osStorageGb: number };
}

function ceil(x: number): number {
  return Math.ceil(x);
}

function dataSize(models: readonly DataModelDef[], usage: UsageFrame, redundancy: number, i: number): number {
  // DataFrame.sum(axis=1) in _service_data_size's callers: a missing usage value counts as 0.
  let total = 0;
  for (const m of models) {
    const bytes = usage.fields.get(m.referenced_field)![i]! * m.unit_size * redundancy;
    if (!Number.isNaN(bytes)) total += bytes;
  }
  return total;
}

/**
 * Storage and compute of one service over the months: _service_storage_data, then ComputeModel.data_frame (VMs by
 * processes, by users per node or static; extra VMs for max_storage_per_node, then for the ram_model).
 */
export function serviceData(config: SizingConfig, service: ServiceDef, usage: UsageFrame): ServiceData {
  const n = usage.months.length;
  const { storage, process } = service;
  const storageBytes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (storage.data_models.length) {
      const raw = dataSize(storage.data_models, usage, storage.redundancy_factor, i) + storage.static_baseline * storage.redundancy_factor;
      storageBytes.push(raw * (1 + (storage.override_storage_buffer ?? config.storage_buffer)));
    } else {
      storageBytes.push(storage.static_baseline * storage.redundancy_factor);
    }
  }

  const field = usage.fields.get(service.usage_field);
  const usageAt = (i: number): number => {
    if (!field) throw configError(config, `services.${service.name}`, `usage_field "${service.usage_field}" is not a usage field`);
    return field[i]!;
  };
  let computeVms: number[];
  let processes: number[] | undefined;
  if (process.sub_processes.length) {
    processes = usage.months.map((_, i) =>
      process.sub_processes.reduce((sum, sp) => sum + (sp.static_number ? sp.static_number : ceil(usageAt(i) / sp.capacity!)), 0),
    );
    const byCores = processes.map((p) => (p * process.cores_per_sub_process!) / process.cores_per_node!);
    const byRam = processes.map((p) => (p * process.ram_per_sub_process!) / process.ram_per_node!);
    // The resource model picks cores or RAM by whichever needs more VMs in the last month modelled.
    const chosen = byCores[n - 1]! > byRam[n - 1]! ? byCores : byRam;
    computeVms = chosen.map(ceil);
  } else if (service.usage_capacity_per_node !== undefined) {
    computeVms = usage.months.map((_, i) => ceil(usageAt(i) / service.usage_capacity_per_node!));
  } else {
    computeVms = usage.months.map(() => service.static_number);
  }

  const extraVmsStorage = usage.months.map(() => 0);
  if (service.max_storage_per_node) {
    const max = service.max_storage_per_node;
    for (let i = 0; i < n; i++) {
      const extra = ceil(Math.max(0, storageBytes[i]! - computeVms[i]! * max) / max);
      extraVmsStorage[i] = extra;
      computeVms[i]! += extra;
    }
  }
  const extraVmsRam = usage.months.map(() => 0);
  const ramRequirementGb = usage.months.map(() => 0);
  if (process.ram_model.length) {
    const perNode = process.ram_per_node! - process.ram_static_baseline;
    for (let i = 0; i < n; i++) {
      const need = dataSize(process.ram_model, usage, process.ram_redundancy_factor, i) / BYTES_PER_UNIT.GB;
      ramRequirementGb[i] = need;
      const extra = ceil(Math.max(0, need - computeVms[i]! * perNode) / perNode);
      extraVmsRam[i] = extra;
      computeVms[i]! += extra;
    }
  }
  const out: ServiceData = { name: service.name, storageBytes, computeVms, extraVmsStorage, extraVmsRam, ramRequirementGb };
  if (processes) out.processes = processes;
  return out;
}

/** A non-negative float as an exact fraction num / 2^shift. */
function dyadic(x: number): { num: bigint; shift: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const exp = (hi >>> 20) & 0x7ff;
  const mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  // Normal numbers carry the implicit leading 1; subnormals (exp 0) do not.
  const num = exp ? mant | (1n << 52n) : mant;
  const e = (exp || 1) - 1075;
  return e >= 0 ? { num: num << BigInt(e), shift: 0 } : { num, shift: -e };
}

/**
 * The estimation buffer for month index i: estimation_buffer x (1 + estimation_growth_factor)^i
 * (get_summary_data). The tool computes it in Decimal from the floats' exact values and converts to float once, so
 * it is computed exactly here and rounded once: 0.2 x 1.025 is 0.205, not the 0.20500000000000002 two float steps
 * give, which moves a ceil() now and then.
 */
export function estimationBuffer(config: SizingConfig, i: number): number {
  const b = config.estimation_buffer;
  const g = config.estimation_growth_factor;
  if (!g || !i || b < 0 || g < -1) return b * (1 + g) ** i;
  const B = dyadic(b);
  const G = dyadic(g);
  const base = (1n << BigInt(G.shift)) + G.num;
  const num = B.num * base ** BigInt(i);
  const shift = B.shift + G.shift * i;
  // num / 2^shift has at most `shift` decimals: print them all and let Number() round once.
  const digits = ((num * 10n ** BigInt(shift)) >> BigInt(shift)).toString().padStart(shift + 1, '0');
  return Number(`${digits.slice(0, digits.length - shift)}.${digits.slice(digits.length - shift)}`);
}

/** Python's max(a, b): b only when b > a, so a NaN first argument stays NaN. */
function pyMax(a: number, b: number): number {
  return b > a ? b : a;
}

/** A figure the tool would show as NaN or inf shows blank: 0 here (pandas' sums skip it too). */
function shown(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/**
 * The summary rows of one service, one per month, as get_summary_data (core/summarize.py) computes them. Its
 * storage branches look at the whole series (whether min_nodes raised the VM count in any month, whether the
 * service has compute in any month), so every month is computed together.
 */
export function summarizeService(
  config: SizingConfig,
  service: ServiceDef,
  data: ServiceData,
  usage?: readonly number[],
): ServiceSummary[] {
  const n = data.storageBytes.length;
  const idx = [...Array(n).keys()];
  const S = data.storageBytes;
  const C = data.computeVms;
  const eb = idx.map((i) => estimationBuffer(config, i));
  const nodeBuffer = idx.map((i) => (service.static_number ? 0 : ceil(C[i]! * eb[i]!)));
  const suggested = idx.map((i) => ceil(C[i]! + nodeBuffer[i]!));
  // DataFrame.max() skips a missing VM count (usage missing that month): min_nodes then.
  const vms = idx.map((i) => (Number.isNaN(suggested[i]!) ? service.min_nodes : Math.max(suggested[i]!, service.min_nodes)));
  const seb = idx.map((i) => service.storage.override_estimation_buffer ?? eb[i]!);
  const raised = idx.map((i) => vms[i]! > suggested[i]!);
  const buffered = idx.map((i) => S[i]! + S[i]! * seb[i]!);
  const minS = service.min_storage_per_node ?? 0;

  let perVm: number[];
  let total: number[];
  if (service.storage_scales_with_nodes) {
    // Every VM holds a full copy.
    perVm = buffered;
    total = idx.map((i) => perVm[i]! * vms[i]!);
  } else if (raised.some(Boolean)) {
    // min_nodes gives more VMs than the usage needs in some month: the buffered storage is spread over the
    // compute VMs where it does not, over all VMs where it does; min_storage_per_node lifts both parts, so a
    // month gets it twice (the tool sums the two masked series).
    const lte = idx.map((i) => (raised[i] ? 0 : 1));
    const gt = idx.map((i) => (raised[i] ? 1 : 0));
    let perLt = idx.map((i) => (buffered[i]! / C[i]!) * lte[i]!);
    if (minS) perLt = perLt.map((x) => pyMax(x, minS));
    const totalLt = idx.map((i) => perLt[i]! * vms[i]! * lte[i]!);
    const totalGt = idx.map((i) => buffered[i]! * gt[i]!);
    let perGt = idx.map((i) => (totalGt[i]! / vms[i]!) * gt[i]!);
    if (minS) perGt = perGt.map((x) => pyMax(x, minS));
    total = idx.map((i) => totalLt[i]! + totalGt[i]!);
    perVm = idx.map((i) => perLt[i]! + perGt[i]!);
  } else if (!C.some((c) => c)) {
    // No compute: storage only, with the estimation buffer once (81489b8 "don't double add buffer").
    total = buffered;
    perVm = idx.map(() => 0);
  } else {
    // Data spread over all the VMs, buffer VMs included; the buffer VMs add no storage (5ab72d3 "fix distributed
    // data cal").
    total = [...S];
    perVm = idx.map((i) => S[i]! / vms[i]!);
    if (minS && perVm.some((x) => x < minS)) {
      perVm = perVm.map((x) => pyMax(x, minS));
      total = idx.map((i) => perVm[i]! * vms[i]!);
    }
  }

  const ha = service.include_ha_resources;
  const anyCompute = C.some((c) => c);
  const anyVms = vms.some((v) => v);
  const coresPerVm = service.process.cores_per_node ?? 0;
  const ramGbPerVm = service.process.ram_per_node ?? 0;
  const unit = BYTES_PER_UNIT[config.storage_display_unit];
  return idx.map((i) => {
    const vmsTotal = ha ? vms[i]! * 2 : vms[i]!;
    const storageTotal = ha ? total[i]! * 2 : total[i]!;
    const row: ServiceSummary = {
      name: service.name,
      coresPerVm,
      ramGbPerVm,
      storageGbPerVm: anyCompute ? shown(tenthRound(perVm[i]! / BYTES_PER_UNIT.GB)) : 0,
      vmsTotal,
      vmsHa: ha ? vms[i]! : 0,
      vmBuffer: nodeBuffer[i]!,
      coresTotal: anyVms ? vmsTotal * coresPerVm : 0,
      ramTotalGb: anyVms ? clean(vmsTotal * ramGbPerVm) : 0,
      storageTotal: shown(tenthRound(ceil(storageTotal) / unit)),
      osStorageTotalGb: ceil(vmsTotal * config.vm_os_storage_gb),
    };
    if (service.storage.group) row.storageGroup = service.storage.group;
    if (usage) row.usage = usage[i]!;
    return row;
  });
}

export interface SizingRun {
  usage: UsageFrame;
  data: ServiceData[];
  /** Per service (config order), its summary row for every month. */
  rows: ServiceSummary[][];
}

/** Usage and per-service data for every month (what the summaries are made from). */
export function runModel(config: SizingConfig): SizingRun {
  const usage = computeUsage(config);
  const data = config.services.map((s) => serviceData(config, s, usage));
  const rows = config.services.map((s, k) => summarizeService(config, s, data[k]!, usage.fields.get(s.usage_field)));
  return { usage, data, rows };
}

/**
 * The VM summary at one month ("YYYY-MM"), as summarize_service_data: services by name, storage summed per group
 * (pandas skips a blank), OS disks added to vm_os_storage_group rounded up once.
 */
export function summarizeMonth(config: SizingConfig, run: SizingRun, month: string): MonthSummary {
  const i = run.usage.months.indexOf(month);
  if (i < 0) {
    const ms = run.usage.months;
    throw new UserError(`${config.file}: summary date ${month} is not a modelled month (usage covers ${ms[0]} to ${ms[ms.length - 1]})`);
  }
  const services = run.rows.map((rows) => rows[i]!).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const storageByGroup: Record<string, number> = {};
  for (const s of services)
    if (s.storageGroup) storageByGroup[s.storageGroup] = clean((storageByGroup[s.storageGroup] ?? 0) + s.storageTotal);
  const osBytes = services.reduce((sum, s) => sum + s.vmsTotal * config.vm_os_storage_gb * BYTES_PER_UNIT.GB, 0);
  const g = config.vm_os_storage_group;
  storageByGroup[g] = clean((storageByGroup[g] ?? 0) + ceil(osBytes / BYTES_PER_UNIT[config.storage_display_unit]));

  const vmRows: VmRow[] = services
    .filter((s) => s.vmsTotal > 0)
    .map((s) => {
      const r: VmRow = {
        name: s.name,
        coresPerVm: s.coresPerVm,
        ramGbPerVm: s.ramGbPerVm,
        storageGbPerVm: s.storageGbPerVm,
        vmCount: s.vmsTotal,
      };
      if (s.storageGroup) r.storageGroup = s.storageGroup;
      return r;
    });
  const storageOnly = services
    .filter((s) => s.vmsTotal === 0 && s.storageTotal > 0)
    .map((s) =>
      s.storageGroup
        ? { name: s.name, storageTotal: s.storageTotal, storageGroup: s.storageGroup }
        : { name: s.name, storageTotal: s.storageTotal },
    );
  const sum = (f: (s: ServiceSummary) => number) => clean(services.reduce((acc, s) => acc + f(s), 0));
  const summary: MonthSummary = {
    month,
    services,
    vmRows,
    storageOnly,
    storageByGroup,
    totals: {
      vms: sum((s) => s.vmsTotal),
      cores: sum((s) => s.coresTotal),
      ramGb: sum((s) => s.ramTotalGb),
      storageTotal: sum((s) => s.storageTotal),
      osStorageGb: sum((s) => s.osStorageTotalGb),
    },
  };
  const users = run.usage.fields.get('users')?.[i];
  if (users !== undefined) summary.users = users;
  return summary;
}
