// commcare-cloud style inventories: an Ansible INI inventory (inventory.ini) and, beside it, app-processes.yml.
//
// No maintained npm package reads Ansible INI inventories (the `ini` package mangles "host key=value" lines), so
// this is a small reader for the parts commcare-cloud uses: [group], [group:vars], [group:children], host lines
// with key=value variables (quoted or not), host ranges such as web[01:03], and comments.
import { UserError } from '../core/errors.ts';
import {
  DEFAULT_SERVICE_PORTS,
  makeEndpoint,
  type Host,
  type ProcessInfo,
  type Protocol,
  type ServiceKind,
  type Topology,
} from './model.ts';
import { YamlSource, isRecord } from '../core/yaml-source.ts';

export interface InventoryGroup {
  name: string;
  hosts: string[];
  children: string[];
  vars: Record<string, string>;
  line: number;
}

export interface ParsedInventory {
  groups: Map<string, InventoryGroup>;
  /** Host variables from host lines, merged when a host appears on several lines. */
  hostVars: Map<string, Record<string, string>>;
  /** Hosts in file order. */
  hostOrder: string[];
}

/** Splits a host or vars line into words, honouring quotes and dropping a trailing "# comment". */
function words(line: string, file: string, lineNo: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '#' && !inWord) {
      break;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new UserError(`${file}:${lineNo}: unclosed ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}

/** More hosts than any commcare-cloud inventory has: a range beyond it is a typo, not a cluster. */
export const MAX_HOSTS_PER_PATTERN = 10_000;

const RANGE = /^(.*?)\[([0-9a-z]+):([0-9a-z]+)(?::(\d+))?\](.*)$/i;

/** How many hosts one range gives (its head and tail not expanded). */
function rangeSize(pattern: string, from: string, to: string, strideText: string | undefined, file: string, lineNo: number): number {
  const stride = strideText ? Number(strideText) : 1;
  if (!(stride >= 1)) throw new UserError(`${file}:${lineNo}: bad host range stride in "${pattern}"`);
  let a: number;
  let b: number;
  if (/^\d+$/.test(from) && /^\d+$/.test(to)) [a, b] = [Number(from), Number(to)];
  else if (/^[a-z]$/i.test(from) && /^[a-z]$/i.test(to)) [a, b] = [from.charCodeAt(0), to.charCodeAt(0)];
  else throw new UserError(`${file}:${lineNo}: bad host range in "${pattern}"`);
  if (b < a) throw new UserError(`${file}:${lineNo}: host range "${pattern}" runs backwards`);
  return Math.floor((b - a) / stride) + 1;
}

/** Expands Ansible host ranges: db[1:3], web[01:10:2].example.org, node[a:c]. At most MAX_HOSTS_PER_PATTERN hosts. */
export function expandHostPattern(pattern: string, file = 'inventory', lineNo = 0): string[] {
  // the size first, over every range in the pattern: [1:999999999] must be refused, not allocated
  let total = 1;
  for (let rest = pattern, m = RANGE.exec(rest); m; rest = m[5]!, m = RANGE.exec(rest)) {
    total *= rangeSize(pattern, m[2]!, m[3]!, m[4], file, lineNo);
    if (total > MAX_HOSTS_PER_PATTERN) {
      throw new UserError(`${file}:${lineNo}: host range "${pattern}" gives more than ${MAX_HOSTS_PER_PATTERN} hosts`);
    }
  }
  return expandRanges(pattern);
}

function expandRanges(pattern: string): string[] {
  const m = RANGE.exec(pattern);
  if (!m) return [pattern];
  const [, head, from, to, strideText, tail] = m as unknown as [string, string, string, string, string | undefined, string];
  const stride = strideText ? Number(strideText) : 1;
  const out: string[] = [];
  if (/^\d+$/.test(from)) {
    const width = from.startsWith('0') ? from.length : 0;
    for (let n = Number(from); n <= Number(to); n += stride) out.push(String(n).padStart(width, '0'));
  } else {
    for (let n = from.charCodeAt(0); n <= to.charCodeAt(0); n += stride) out.push(String.fromCharCode(n));
  }
  return out.flatMap((mid) => expandRanges(`${head}${mid}${tail}`));
}

function parseAssignment(text: string): [string, string] | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(text);
  return m ? [m[1]!, m[2]!] : undefined;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"')))) return t.slice(1, -1);
  return t;
}

export function parseInventory(text: string, file: string): ParsedInventory {
  const groups = new Map<string, InventoryGroup>();
  const hostVars = new Map<string, Record<string, string>>();
  const hostOrder: string[] = [];
  const groupHosts = new Map<InventoryGroup, Set<string>>();
  const group = (name: string, line: number): InventoryGroup => {
    let g = groups.get(name);
    if (!g) {
      g = { name, hosts: [], children: [], vars: {}, line };
      groups.set(name, g);
    }
    return g;
  };
  let section: { group: InventoryGroup; kind: 'hosts' | 'vars' | 'children' } = { group: group('ungrouped', 0), kind: 'hosts' };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    if (line.startsWith('[')) {
      const m = /^\[([^\]:\s]+)(?::(vars|children))?\]\s*([#;].*)?$/.exec(line);
      if (!m)
        throw new UserError(
          `${file}:${lineNo}: bad section header ${JSON.stringify(line)} (expected [group], [group:vars] or [group:children])`,
        );
      section = { group: group(m[1]!, lineNo), kind: (m[2] as 'vars' | 'children' | undefined) ?? 'hosts' };
      return;
    }
    if (section.kind === 'vars') {
      const a = parseAssignment(line.replace(/\s+[#;].*$/, ''));
      if (!a) throw new UserError(`${file}:${lineNo}: expected key=value in [${section.group.name}:vars], found ${JSON.stringify(line)}`);
      section.group.vars[a[0]] = unquote(a[1]);
      return;
    }
    const w = words(line, file, lineNo);
    if (w.length === 0) return;
    if (section.kind === 'children') {
      if (w.length !== 1)
        throw new UserError(
          `${file}:${lineNo}: expected one group name in [${section.group.name}:children], found ${JSON.stringify(line)}`,
        );
      if (!section.group.children.includes(w[0]!)) section.group.children.push(w[0]!);
      return;
    }
    const [pattern, ...assignments] = w;
    const vars: Record<string, string> = {};
    for (const a of assignments) {
      const kv = parseAssignment(a);
      if (!kv) throw new UserError(`${file}:${lineNo}: expected key=value after host "${pattern}", found ${JSON.stringify(a)}`);
      vars[kv[0]] = kv[1];
    }
    let inGroup = groupHosts.get(section.group);
    if (!inGroup) groupHosts.set(section.group, (inGroup = new Set(section.group.hosts)));
    for (const host of expandHostPattern(pattern!, file, lineNo)) {
      if (!inGroup.has(host)) {
        inGroup.add(host);
        section.group.hosts.push(host);
      }
      if (!hostVars.has(host)) {
        if (hostOrder.length >= MAX_HOSTS_PER_PATTERN)
          throw new UserError(`${file}:${lineNo}: the inventory lists more than ${MAX_HOSTS_PER_PATTERN} hosts`);
        hostVars.set(host, {});
        hostOrder.push(host);
      }
      Object.assign(hostVars.get(host)!, vars);
    }
  });
  // Children must name groups; a child group that never appears is an error in Ansible too.
  for (const g of groups.values()) {
    for (const c of g.children) {
      if (!groups.has(c))
        throw new UserError(`${file}:${g.line}: [${g.name}:children] names "${c}", which is not a group in this inventory`);
    }
  }
  return { groups, hostVars, hostOrder };
}

/** Every host in a group, through its children (cycles are reported). */
export function hostsOfGroup(inv: ParsedInventory, name: string, file = 'inventory', seen: string[] = []): string[] {
  const g = inv.groups.get(name);
  if (!g) return [];
  if (seen.includes(name)) throw new UserError(`${file}:${g.line}: group "${name}" contains itself (${[...seen, name].join(' -> ')})`);
  const out = [...g.hosts];
  for (const c of g.children) for (const h of hostsOfGroup(inv, c, file, [...seen, name])) if (!out.includes(h)) out.push(h);
  return out;
}

/** Inventory groups that stand for a service, as commcare-cloud names them. */
export const INVENTORY_GROUP_SERVICES: Record<string, { kind: ServiceKind; port?: number; protocol?: Protocol }> = {
  webworkers: { kind: 'django' },
  postgresql: { kind: 'postgresql' },
  pg_standby: { kind: 'postgresql' },
  remote_postgresql: { kind: 'postgresql' },
  citusdb: { kind: 'postgresql' },
  pgbouncer: { kind: 'postgresql', port: 6432 },
  couchdb: { kind: 'couchdb' },
  couchdb2: { kind: 'couchdb' },
  elasticsearch: { kind: 'elasticsearch' },
  kafka: { kind: 'kafka' },
  rabbitmq: { kind: 'rabbitmq' },
  redis: { kind: 'redis' },
  proxy: { kind: 'nginx' },
  formplayer: { kind: 'formplayer' },
  celery: { kind: 'celery' },
  pillowtop: { kind: 'pillowtop' },
  riakcs: { kind: 'object_storage', port: 8080 },
  minio: { kind: 'object_storage', port: 9000 },
};

export interface InventoryOptions {
  /** Give every host a node_exporter endpoint on this port (a `node_exporter_port` host/group var wins). */
  nodeExporterPort?: number;
  /** app-processes.yml text and its file name, if there is one. */
  appProcesses?: { text: string; file: string };
}

export function readInventory(text: string, file: string, options: InventoryOptions = {}): Topology {
  const inv = parseInventory(text, file);
  const warnings: string[] = [];
  const topology: Topology = { source: { path: file, format: 'inventory' }, rows: [], hosts: [], warnings };
  if (inv.hostOrder.length === 0) throw new UserError(`${file}: inventory lists no hosts`);

  // Groups of each host, direct ones first then ancestors; and merged variables (group vars, then host vars).
  const groupsOf = new Map<string, string[]>();
  const ordered = [...inv.groups.values()].sort((a, b) => a.line - b.line);
  for (const g of ordered) {
    for (const h of hostsOfGroup(inv, g.name, file)) {
      if (g.name === 'ungrouped') continue;
      const list = groupsOf.get(h) ?? [];
      if (!list.includes(g.name)) list.push(g.name);
      groupsOf.set(h, list);
    }
  }
  const singleHostGroups = new Map<string, string>();
  for (const g of ordered)
    if (g.hosts.length === 1 && g.children.length === 0 && g.name !== 'ungrouped')
      singleHostGroups.set(g.hosts[0]!, singleHostGroups.get(g.hosts[0]!) ?? g.name);

  const usedNames = new Set<string>();
  const keyToHost = new Map<string, Host>();
  for (const invHost of inv.hostOrder) {
    const groups = groupsOf.get(invHost) ?? [];
    // [all:vars] first (every host is in Ansible's implicit group all), then parent groups', so the nearer group
    // (and then the host line) wins.
    const vars: Record<string, string> = { ...inv.groups.get('all')?.vars };
    for (const g of [...groups].reverse()) Object.assign(vars, inv.groups.get(g)!.vars);
    Object.assign(vars, inv.hostVars.get(invHost));
    const address = vars.ansible_host ?? invHost;
    let name = vars.hostname ?? singleHostGroups.get(invHost) ?? invHost;
    if (usedNames.has(name)) name = invHost;
    usedNames.add(name);
    const host: Host = { name, address, groups, services: [], vars };

    for (const g of groups) {
      const svc = INVENTORY_GROUP_SERVICES[g];
      if (!svc || host.services.some((s) => s.kind === svc.kind && s.name === g)) continue;
      if (host.services.some((s) => s.kind === svc.kind) && !svc.port) continue;
      const d = DEFAULT_SERVICE_PORTS[svc.kind];
      // `<group>_port` (e.g. postgresql_port=6543) for a service off its default port
      const given = vars[`${g}_port`];
      if (given !== undefined && !/^\d+$/.test(given))
        throw new UserError(`${file}: host "${invHost}": ${g}_port ${JSON.stringify(given)} is not a port`);
      const port = given !== undefined ? Number(given) : (svc.port ?? d.port);
      const protocol = svc.protocol ?? d.protocol;
      host.services.push({ kind: svc.kind, name: g, endpoints: port ? [makeEndpoint(address, port, protocol)] : [] });
    }
    const nePort = vars.node_exporter_port !== undefined ? Number(vars.node_exporter_port) : options.nodeExporterPort;
    if (nePort !== undefined) {
      if (!Number.isInteger(nePort) || nePort < 1 || nePort > 65535)
        throw new UserError(`${file}: host "${invHost}": node_exporter_port ${JSON.stringify(vars.node_exporter_port)} is not a port`);
      host.nodeExporter = makeEndpoint(address, nePort, 'http', { url: `http://${address}:${nePort}/metrics` });
    }
    topology.hosts.push(host);
    for (const key of [invHost, name, vars.hostname, singleHostGroups.get(invHost)])
      if (key && !keyToHost.has(key)) keyToHost.set(key, host);
  }

  if (options.appProcesses) applyAppProcesses(topology, keyToHost, options.appProcesses.text, options.appProcesses.file);
  return topology;
}

/**
 * app-processes.yml: `celery_processes` and `pillows` map a host (inventory name, `hostname` var or a one-host
 * group) to its celery queues (`"q1,q2": {concurrency, pooling, num_workers}`) and pillows (`{num_processes}`);
 * `gunicorn_workers_factor` / `gunicorn_workers_static_factor` size gunicorn (workers = static + factor x cores).
 * The host key `None` holds processes that run nowhere.
 */
export function applyAppProcesses(topology: Topology, keyToHost: Map<string, Host>, text: string, file: string): void {
  const src = new YamlSource(text, file);
  const data = src.data;
  if (!isRecord(data)) throw src.error([], 'app-processes must be a mapping');
  const num = (key: string): number | undefined => {
    const v = data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw src.error([key], `"${key}" must be a number`);
    return v;
  };
  const factor = num('gunicorn_workers_factor');
  const staticFactor = num('gunicorn_workers_static_factor');
  if (factor !== undefined || staticFactor !== undefined) {
    topology.appSettings = {};
    if (factor !== undefined) topology.appSettings.gunicornWorkersFactor = factor;
    if (staticFactor !== undefined) topology.appSettings.gunicornWorkersStaticFactor = staticFactor;
  }
  topology.source.extra = [...(topology.source.extra ?? []), file];

  const section = (
    key: 'celery_processes' | 'pillows',
    kind: ServiceKind,
    toProcess: (name: string, opts: Record<string, unknown>, path: Array<string | number>) => ProcessInfo,
  ) => {
    const byHost = data[key];
    if (byHost === undefined || byHost === null) return;
    if (!isRecord(byHost)) throw src.error([key], `"${key}" must map hosts to processes`);
    for (const [hostKey, procs] of Object.entries(byHost)) {
      if (procs === null || procs === undefined) continue;
      if (!isRecord(procs)) throw src.error([key, hostKey], `processes for "${hostKey}" must be a mapping`);
      if (hostKey === 'None') {
        topology.warnings.push(`${file}: ${key} under "None" run on no host: ${Object.keys(procs).join(', ')}`);
        continue;
      }
      const host = keyToHost.get(hostKey);
      if (!host) {
        topology.warnings.push(`${file}: ${key} names host "${hostKey}", which is not in the inventory`);
        continue;
      }
      let service = host.services.find((s) => s.kind === kind);
      if (!service) {
        topology.warnings.push(`${file}: ${key} puts ${kind} processes on "${host.name}", which is not in the ${kind} group`);
        service = { kind, name: kind, endpoints: [] };
        host.services.push(service);
      }
      const list = (service.processes ??= []);
      for (const [name, opts] of Object.entries(procs)) {
        if (opts !== null && opts !== undefined && !isRecord(opts))
          throw src.error([key, hostKey, name], `options for "${name}" must be a mapping`);
        list.push(toProcess(name, (opts ?? {}) as Record<string, unknown>, [key, hostKey, name]));
      }
    }
  };
  const whole = (opts: Record<string, unknown>, field: string, path: Array<string | number>): number | undefined => {
    const v = opts[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw src.error([...path, field], `"${field}" must be a whole number, found ${JSON.stringify(v)}`);
    return v;
  };
  section('celery_processes', 'celery', (name, opts, path) => {
    const p: ProcessInfo = { name, count: whole(opts, 'num_workers', path) ?? 1 };
    const c = whole(opts, 'concurrency', path);
    if (c !== undefined) p.concurrency = c;
    if (typeof opts.pooling === 'string') p.pooling = opts.pooling;
    return p;
  });
  section('pillows', 'pillowtop', (name, opts, path) => ({ name, count: whole(opts, 'num_processes', path) ?? 1 }));
}

/** Gunicorn workers on a host with `cores` vCPUs: static factor + factor x cores (commcare-cloud's rule). */
export function gunicornWorkers(cores: number, settings: Topology['appSettings'] = {}): number {
  const factor = settings?.gunicornWorkersFactor ?? 1;
  const staticFactor = settings?.gunicornWorkersStaticFactor ?? 0;
  return Math.max(1, Math.round(staticFactor + factor * cores));
}
