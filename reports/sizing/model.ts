// Usage -> per-service storage and compute -> the VM summary, month by month, as commcare_resource_model
// computes it. The formulas are in README.md beside this file.
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
  let total = 0;
  for (const m of models) total += usage.fields.get(m.referenced_field)![i]! * m.unit_size * redundancy;
  return total;
}

/** Storage and compute of one service over the months. */
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

/** The estimation buffer for month index i: estimation_buffer x (1 + estimation_growth_factor)^i. */
export function estimationBuffer(config: SizingConfig, i: number): number {
  return config.estimation_buffer * (1 + config.estimation_growth_factor) ** i;
}

/** The summary row of one service for month index i. */
export function summarizeService(config: SizingConfig, service: ServiceDef, data: ServiceData, i: number, usageValue?: number): ServiceSummary {
  const eb = estimationBuffer(config, i);
  const S = data.storageBytes[i]!;
  const C = data.computeVms[i]!;
  const nodeBuffer = service.static_number ? 0 : ceil(C * eb);
  const suggested = ceil(C + nodeBuffer);
  let vms = Math.max(suggested, service.min_nodes);
  const storageEb = service.storage.override_estimation_buffer ?? eb;
  const raisedByMinNodes = vms > suggested;

  let perVm: number;
  let total: number;
  if (service.storage_scales_with_nodes) {
    // Every VM holds a full copy.
    perVm = S + S * storageEb;
    total = perVm * vms;
  } else if (raisedByMinNodes) {
    // min_nodes gives more VMs than the usage needs: buffered storage is spread over all of them.
    total = S + S * storageEb;
    perVm = total / vms;
  } else if (C === 0) {
    // No compute: storage only. The resource model adds both buffers here.
    total = S + S * storageEb + S * eb;
    perVm = 0;
  } else {
    // Storage is spread over the VMs the usage needs; the buffer VMs get the same share each.
    perVm = S / C;
    total = perVm * vms;
  }

  let vmsHa = 0;
  if (service.include_ha_resources) {
    vmsHa = vms;
    total *= 2;
    vms *= 2;
  }
  const coresPerVm = service.process.cores_per_node ?? 0;
  const ramGbPerVm = service.process.ram_per_node ?? 0;
  const unit = BYTES_PER_UNIT[config.storage_display_unit];
  const row: ServiceSummary = {
    name: service.name,
    coresPerVm,
    ramGbPerVm,
    storageGbPerVm: vms > 0 ? tenthRound(perVm / BYTES_PER_UNIT.GB) : 0,
    vmsTotal: vms,
    vmsHa,
    vmBuffer: nodeBuffer,
    coresTotal: vms * coresPerVm,
    ramTotalGb: clean(vms * ramGbPerVm),
    storageTotal: tenthRound(ceil(total) / unit),
    osStorageTotalGb: ceil(vms * config.vm_os_storage_gb),
  };
  if (service.storage.group) row.storageGroup = service.storage.group;
  if (usageValue !== undefined) row.usage = usageValue;
  return row;
}

export interface SizingRun {
  usage: UsageFrame;
  data: ServiceData[];
}

/** Usage and per-service data for every month (what the summaries are made from). */
export function runModel(config: SizingConfig): SizingRun {
  const usage = computeUsage(config);
  return { usage, data: config.services.map((s) => serviceData(config, s, usage)) };
}

/** The VM summary at one month ("YYYY-MM"). Services are listed by name, as the resource model sorts them. */
export function summarizeMonth(config: SizingConfig, run: SizingRun, month: string): MonthSummary {
  const i = run.usage.months.indexOf(month);
  if (i < 0) {
    const ms = run.usage.months;
    throw new UserError(`${config.file}: summary date ${month} is not a modelled month (usage covers ${ms[0]} to ${ms[ms.length - 1]})`);
  }
  const services = config.services
    .map((s, k) => summarizeService(config, s, run.data[k]!, i, run.usage.fields.get(s.usage_field)?.[i]))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const storageByGroup: Record<string, number> = {};
  for (const s of services) if (s.storageGroup) storageByGroup[s.storageGroup] = clean((storageByGroup[s.storageGroup] ?? 0) + s.storageTotal);
  const osBytes = services.reduce((sum, s) => sum + s.vmsTotal * config.vm_os_storage_gb * BYTES_PER_UNIT.GB, 0);
  const g = config.vm_os_storage_group;
  storageByGroup[g] = clean((storageByGroup[g] ?? 0) + ceil(osBytes / BYTES_PER_UNIT[config.storage_display_unit]));

  const vmRows: VmRow[] = services
    .filter((s) => s.vmsTotal > 0)
    .map((s) => {
      const r: VmRow = { name: s.name, coresPerVm: s.coresPerVm, ramGbPerVm: s.ramGbPerVm, storageGbPerVm: s.storageGbPerVm, vmCount: s.vmsTotal };
      if (s.storageGroup) r.storageGroup = s.storageGroup;
      return r;
    });
  const storageOnly = services
    .filter((s) => s.vmsTotal === 0 && s.storageTotal > 0)
    .map((s) => (s.storageGroup ? { name: s.name, storageTotal: s.storageTotal, storageGroup: s.storageGroup } : { name: s.name, storageTotal: s.storageTotal }));
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
