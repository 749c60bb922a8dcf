// Host figures: CPU (with iowait and steal), memory and paging, disk use and I/O, network. Read from /proc on
// the local machine, or from a Prometheus node_exporter on a VM; both become the same HostSnapshot, so the
// samples have the same names whichever way they were read (labels.via says which).
import fs from 'node:fs';
import { httpGetText } from './http.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { RateTracker } from './rates.ts';
import { sample, type Collector, type Sample } from './types.ts';

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface HostSnapshot {
  /** Seconds (or clock ticks: only ratios are used), summed over all CPUs. */
  cpu: CpuTimes;
  cpus: number;
  load1?: number;
  mem: { totalBytes: number; availableBytes: number; swapTotalBytes: number; swapFreeBytes: number };
  /** Counters from /proc/vmstat: pages swapped in/out, major faults. */
  vm: { pswpin?: number; pswpout?: number; pgmajfault?: number };
  filesystems: Array<{ mountpoint: string; device: string; fstype: string; sizeBytes: number; availBytes: number; freeBytes: number }>;
  disks: Array<{ device: string; reads: number; readBytes: number; writes: number; writtenBytes: number; ioTimeSeconds: number }>;
  net: Array<{ device: string; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number; errors: number; drops: number }>;
}

/** Filesystems worth watching (not proc, tmpfs, cgroup...). overlay only as the root of a container. */
const diskFsTypes = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'nfs',
  'nfs4',
  'ceph',
  'fuseblk',
]);
const wantFs = (fstype: string, mountpoint: string) => diskFsTypes.has(fstype) || (fstype === 'overlay' && mountpoint === '/');
/** node_exporter's default device exclusion, plus partitions of the usual disk names. */
const skipDisk = (d: string) => /^(ram|loop|fd|sr|dm-)\d+$/.test(d) || /^((h|s|v|xv)d[a-z]+|nvme\d+n\d+p|mmcblk\d+p)\d+$/.test(d);

// ---- /proc --------------------------------------------------------------------------------------------

export function parseProcStat(text: string): { cpu: CpuTimes; cpus: number } {
  let cpu: CpuTimes | undefined;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      const hz = 100; // USER_HZ: 100 on every Linux architecture that matters here
      cpu = {
        user: (f[0] ?? 0) / hz,
        nice: (f[1] ?? 0) / hz,
        system: (f[2] ?? 0) / hz,
        idle: (f[3] ?? 0) / hz,
        iowait: (f[4] ?? 0) / hz,
        irq: (f[5] ?? 0) / hz,
        softirq: (f[6] ?? 0) / hz,
        steal: (f[7] ?? 0) / hz,
      };
    } else if (/^cpu\d+ /.test(line)) cpus++;
  }
  if (!cpu) throw new Error('/proc/stat has no cpu line');
  return { cpu, cpus };
}

export function parseKeyValueTable(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const parts = line.split(/[:\s]+/);
    if (parts.length >= 2 && parts[0]) m.set(parts[0], Number(parts[1]));
  }
  return m;
}

export function parseDiskstats(text: string, wholeDisks?: Set<string>): HostSnapshot['disks'] {
  const out: HostSnapshot['disks'] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const device = f[2]!;
    if (skipDisk(device) || (wholeDisks && !wholeDisks.has(device))) continue;
    const n = (i: number) => Number(f[i]);
    out.push({ device, reads: n(3), readBytes: n(5) * 512, writes: n(7), writtenBytes: n(9) * 512, ioTimeSeconds: n(12) / 1000 });
  }
  return out;
}

export function parseNetDev(text: string): HostSnapshot['net'] {
  const out: HostSnapshot['net'] = [];
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0 || line.includes('|')) continue;
    const device = line.slice(0, i).trim();
    const f = line
      .slice(i + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out.push({
      device,
      rxBytes: f[0]!,
      rxPackets: f[1]!,
      txBytes: f[8]!,
      txPackets: f[9]!,
      errors: f[2]! + f[10]!,
      drops: f[3]! + f[11]!,
    });
  }
  return out;
}

export function readProcSnapshot(root = '/proc'): HostSnapshot {
  const read = (p: string) => fs.readFileSync(`${root}/${p}`, 'utf8');
  const { cpu, cpus } = parseProcStat(read('stat'));
  const mi = parseKeyValueTable(read('meminfo'));
  const kb = (k: string) => (mi.get(k) ?? 0) * 1024;
  const vmstat = parseKeyValueTable(read('vmstat'));
  const load1 = Number(read('loadavg').split(' ')[0]);
  const filesystems: HostSnapshot['filesystems'] = [];
  const seenDev = new Set<string>();
  for (const line of read('self/mounts').split('\n')) {
    const [device, mountpoint, fstype] = line.split(' ');
    if (!device || !mountpoint || !fstype || !wantFs(fstype, mountpoint) || seenDev.has(device)) continue;
    seenDev.add(device);
    try {
      const s = fs.statfsSync(mountpoint.replace(/\\040/g, ' '));
      filesystems.push({
        mountpoint,
        device,
        fstype,
        sizeBytes: s.blocks * s.bsize,
        availBytes: s.bavail * s.bsize,
        freeBytes: s.bfree * s.bsize,
      });
    } catch {
      // unreadable mount (permissions, stale NFS): left out
    }
  }
  let whole: Set<string> | undefined;
  try {
    whole = new Set(fs.readdirSync('/sys/block').map((d) => d.replace(/!/g, '/')));
  } catch {
    whole = undefined;
  }
  return {
    cpu,
    cpus,
    load1,
    mem: { totalBytes: kb('MemTotal'), availableBytes: kb('MemAvailable'), swapTotalBytes: kb('SwapTotal'), swapFreeBytes: kb('SwapFree') },
    vm: { pswpin: vmstat.get('pswpin'), pswpout: vmstat.get('pswpout'), pgmajfault: vmstat.get('pgmajfault') },
    filesystems,
    disks: parseDiskstats(read('diskstats'), whole),
    net: parseNetDev(read('net/dev')),
  };
}

// ---- node_exporter ------------------------------------------------------------------------------------

const nodeExporterNames = new Set([
  'node_cpu_seconds_total',
  'node_load1',
  'node_memory_MemTotal_bytes',
  'node_memory_MemAvailable_bytes',
  'node_memory_SwapTotal_bytes',
  'node_memory_SwapFree_bytes',
  'node_vmstat_pswpin',
  'node_vmstat_pswpout',
  'node_vmstat_pgmajfault',
  'node_filesystem_size_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_free_bytes',
  'node_disk_reads_completed_total',
  'node_disk_read_bytes_total',
  'node_disk_writes_completed_total',
  'node_disk_written_bytes_total',
  'node_disk_io_time_seconds_total',
  'node_network_receive_bytes_total',
  'node_network_transmit_bytes_total',
  'node_network_receive_packets_total',
  'node_network_transmit_packets_total',
  'node_network_receive_errs_total',
  'node_network_transmit_errs_total',
  'node_network_receive_drop_total',
  'node_network_transmit_drop_total',
]);

/** node_exporter's /metrics page as a HostSnapshot (node_exporter 0.16 and later metric names). */
export function snapshotFromNodeExporter(text: string): HostSnapshot {
  const samples = parsePrometheusText(text, (n) => nodeExporterNames.has(n));
  const cpu: CpuTimes = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };
  const cpuIds = new Set<string>();
  const single = new Map<string, number>();
  const fsMap = new Map<string, HostSnapshot['filesystems'][number]>();
  const disks = new Map<string, HostSnapshot['disks'][number]>();
  const nets = new Map<string, HostSnapshot['net'][number]>();
  const disk = (d: string) => {
    let x = disks.get(d);
    if (!x) disks.set(d, (x = { device: d, reads: 0, readBytes: 0, writes: 0, writtenBytes: 0, ioTimeSeconds: 0 }));
    return x;
  };
  const net = (d: string) => {
    let x = nets.get(d);
    if (!x) nets.set(d, (x = { device: d, rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, errors: 0, drops: 0 }));
    return x;
  };
  for (const s of samples) {
    const l = s.labels;
    switch (s.name) {
      case 'node_cpu_seconds_total': {
        const mode = l.mode as keyof CpuTimes;
        if (l.cpu !== undefined) cpuIds.add(l.cpu);
        if (mode in cpu) cpu[mode] += s.value;
        break;
      }
      case 'node_filesystem_size_bytes':
      case 'node_filesystem_avail_bytes':
      case 'node_filesystem_free_bytes': {
        const mp = l.mountpoint ?? '';
        const fstype = l.fstype ?? '';
        if (!wantFs(fstype, mp)) break;
        let f = fsMap.get(mp);
        if (!f) fsMap.set(mp, (f = { mountpoint: mp, device: l.device ?? '', fstype, sizeBytes: 0, availBytes: 0, freeBytes: 0 }));
        if (s.name.endsWith('size_bytes')) f.sizeBytes = s.value;
        else if (s.name.endsWith('avail_bytes')) f.availBytes = s.value;
        else f.freeBytes = s.value;
        break;
      }
      case 'node_disk_reads_completed_total':
        if (!skipDisk(l.device ?? '')) disk(l.device ?? '').reads = s.value;
        break;
      case 'node_disk_read_bytes_total':
        if (!skipDisk(l.device ?? '')) disk(l.device ?? '').readBytes = s.value;
        break;
      case 'node_disk_writes_completed_total':
        if (!skipDisk(l.device ?? '')) disk(l.device ?? '').writes = s.value;
        break;
      case 'node_disk_written_bytes_total':
        if (!skipDisk(l.device ?? '')) disk(l.device ?? '').writtenBytes = s.value;
        break;
      case 'node_disk_io_time_seconds_total':
        if (!skipDisk(l.device ?? '')) disk(l.device ?? '').ioTimeSeconds = s.value;
        break;
      case 'node_network_receive_bytes_total':
        net(l.device ?? '').rxBytes = s.value;
        break;
      case 'node_network_transmit_bytes_total':
        net(l.device ?? '').txBytes = s.value;
        break;
      case 'node_network_receive_packets_total':
        net(l.device ?? '').rxPackets = s.value;
        break;
      case 'node_network_transmit_packets_total':
        net(l.device ?? '').txPackets = s.value;
        break;
      case 'node_network_receive_errs_total':
      case 'node_network_transmit_errs_total':
        net(l.device ?? '').errors += s.value;
        break;
      case 'node_network_receive_drop_total':
      case 'node_network_transmit_drop_total':
        net(l.device ?? '').drops += s.value;
        break;
      default:
        single.set(s.name, s.value);
    }
  }
  if (!cpuIds.size) throw new Error('no node_cpu_seconds_total in the node_exporter page');
  return {
    cpu,
    cpus: cpuIds.size,
    load1: single.get('node_load1'),
    mem: {
      totalBytes: single.get('node_memory_MemTotal_bytes') ?? 0,
      availableBytes: single.get('node_memory_MemAvailable_bytes') ?? 0,
      swapTotalBytes: single.get('node_memory_SwapTotal_bytes') ?? 0,
      swapFreeBytes: single.get('node_memory_SwapFree_bytes') ?? 0,
    },
    vm: {
      pswpin: single.get('node_vmstat_pswpin'),
      pswpout: single.get('node_vmstat_pswpout'),
      pgmajfault: single.get('node_vmstat_pgmajfault'),
    },
    filesystems: [...fsMap.values()].filter((f) => f.sizeBytes > 0),
    disks: [...disks.values()],
    net: [...nets.values()],
  };
}

// ---- samples ------------------------------------------------------------------------------------------

/** Samples from a snapshot; CPU percentages, paging, disk and network rates need the previous snapshot's counters in `rates`. */
export function hostSamples(now: Date, host: string, via: string, s: HostSnapshot, rates: RateTracker): Sample[] {
  const t = now.getTime();
  const out: Sample[] = [];
  const add = (metric: string, value: number | undefined, labels: Record<string, string> = {}) => {
    if (value !== undefined && Number.isFinite(value)) out.push(sample(now, 'host', host, metric, value, { via, ...labels }));
  };
  const c = s.cpu;
  const total = c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal;
  const d = (k: string, v: number) => rates.delta(k, v, t)?.delta;
  const dTotal = d('cpu.total', total);
  const parts = {
    user: d('cpu.user', c.user + c.nice),
    system: d('cpu.system', c.system + c.irq + c.softirq),
    iowait: d('cpu.iowait', c.iowait),
    steal: d('cpu.steal', c.steal),
    idle: d('cpu.idle', c.idle),
  };
  if (dTotal && dTotal > 0) {
    const pct = (x: number | undefined) => (x === undefined ? undefined : (100 * x) / dTotal);
    add('cpu_busy_pct', parts.idle !== undefined && parts.iowait !== undefined ? 100 - pct(parts.idle)! - pct(parts.iowait)! : undefined);
    add('cpu_user_pct', pct(parts.user));
    add('cpu_system_pct', pct(parts.system));
    add('cpu_iowait_pct', pct(parts.iowait));
    add('cpu_steal_pct', pct(parts.steal));
    add('cpu_idle_pct', pct(parts.idle));
  }
  add('cpus', s.cpus);
  add('load1', s.load1);
  const m = s.mem;
  add('mem_total_bytes', m.totalBytes);
  add('mem_available_bytes', m.availableBytes);
  if (m.totalBytes > 0) add('mem_used_pct', (100 * (m.totalBytes - m.availableBytes)) / m.totalBytes);
  add('swap_used_bytes', m.swapTotalBytes - m.swapFreeBytes);
  if (s.vm.pswpin !== undefined) add('swap_in_pages_per_s', rates.rate('vm.pswpin', s.vm.pswpin, t));
  if (s.vm.pswpout !== undefined) add('swap_out_pages_per_s', rates.rate('vm.pswpout', s.vm.pswpout, t));
  if (s.vm.pgmajfault !== undefined) add('major_faults_per_s', rates.rate('vm.pgmajfault', s.vm.pgmajfault, t));
  for (const f of s.filesystems) {
    const labels = { mountpoint: f.mountpoint };
    const used = f.sizeBytes - f.freeBytes;
    add('fs_size_bytes', f.sizeBytes, labels);
    add('fs_used_bytes', used, labels);
    // as df: used / (used + available to unprivileged users)
    if (used + f.availBytes > 0) add('fs_used_pct', (100 * used) / (used + f.availBytes), labels);
  }
  for (const k of s.disks) {
    const labels = { device: k.device };
    add('disk_reads_per_s', rates.rate(`disk.r.${k.device}`, k.reads, t), labels);
    add('disk_writes_per_s', rates.rate(`disk.w.${k.device}`, k.writes, t), labels);
    add('disk_read_bytes_per_s', rates.rate(`disk.rb.${k.device}`, k.readBytes, t), labels);
    add('disk_write_bytes_per_s', rates.rate(`disk.wb.${k.device}`, k.writtenBytes, t), labels);
    const busy = rates.rate(`disk.io.${k.device}`, k.ioTimeSeconds, t);
    add('disk_util_pct', busy === undefined ? undefined : Math.min(100, busy * 100), labels);
  }
  for (const n of s.net) {
    const labels = { device: n.device };
    add('net_rx_bytes_per_s', rates.rate(`net.rx.${n.device}`, n.rxBytes, t), labels);
    add('net_tx_bytes_per_s', rates.rate(`net.tx.${n.device}`, n.txBytes, t), labels);
    add('net_rx_packets_per_s', rates.rate(`net.rxp.${n.device}`, n.rxPackets, t), labels);
    add('net_tx_packets_per_s', rates.rate(`net.txp.${n.device}`, n.txPackets, t), labels);
    add('net_errors_per_s', rates.rate(`net.err.${n.device}`, n.errors, t), labels);
    add('net_drops_per_s', rates.rate(`net.drop.${n.device}`, n.drops, t), labels);
  }
  return out;
}

export interface HostTarget {
  host: string;
  /** node_exporter metrics URL (http://vm:9100/metrics); absent: read this machine's /proc. */
  nodeExporterUrl?: string;
  /** A container that plays the VM: read from the Docker engine's stats (docker-stats.ts) instead. */
  container?: string;
  /** For tests: another /proc root. */
  procRoot?: string;
}

export function hostCollector(target: HostTarget, opts: { timeoutMs?: number } = {}): Collector {
  const rates = new RateTracker();
  const via = target.nodeExporterUrl ? 'node_exporter' : 'proc';
  return {
    name: `host@${target.host}`,
    source: 'host',
    host: target.host,
    async sample(now: Date): Promise<Sample[]> {
      const snap = target.nodeExporterUrl
        ? snapshotFromNodeExporter(await httpGetText(target.nodeExporterUrl, { timeoutMs: opts.timeoutMs }))
        : readProcSnapshot(target.procRoot);
      return hostSamples(now, target.host, via, snap, rates);
    },
  };
}
