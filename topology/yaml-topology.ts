// The YAML topology file: VM rows, hosts, the services on them and their endpoints. Schema in README.md.
import {
  DEFAULT_SERVICE_PORTS,
  NODE_EXPORTER_DEFAULT_PORT,
  SERVICE_KINDS,
  isServiceKind,
  makeEndpoint,
  type Endpoint,
  type Host,
  type Protocol,
  type ServiceInstance,
  type Topology,
  type VmRow,
} from './model.ts';
import { Fields, YamlSource, describe, isRecord, type YamlPath } from '../core/yaml-source.ts';

const TOP_KEYS = ['name', 'description', 'target', 'defaults', 'rows', 'hosts'];
const ROW_KEYS = ['name', 'cores', 'ram_gb', 'storage_gb', 'vms', 'storage_group', 'description'];
const HOST_KEYS = ['name', 'address', 'row', 'groups', 'services', 'node_exporter', 'container', 'description'];
const SERVICE_KEYS = ['kind', 'name', 'port', 'ports', 'protocol', 'url', 'endpoints'];
const ENDPOINT_KEYS = ['host', 'port', 'protocol', 'url', 'name'];
const PROTOCOLS: Protocol[] = ['http', 'https', 'postgresql', 'kafka', 'redis', 'amqp', 'tcp'];

/** True when a parsed YAML document looks like a topology file (has rows or hosts). */
export function looksLikeTopologyYaml(data: unknown): boolean {
  return isRecord(data) && (Array.isArray(data.rows) || Array.isArray(data.hosts));
}

export function readYamlTopology(text: string, file: string): Topology {
  const src = new YamlSource(text, file);
  return topologyFromYaml(src);
}

export function topologyFromYaml(src: YamlSource): Topology {
  const top = Fields.at(src, [], src.data, 'a mapping with "rows" and/or "hosts"');
  top.only(TOP_KEYS);
  if (!top.has('rows') && !top.has('hosts')) throw top.err(undefined, 'a topology needs "rows" (VM rows) and/or "hosts"');

  const warnings: string[] = [];
  const topology: Topology = { source: { path: src.file, format: 'yaml' }, rows: [], hosts: [], warnings };
  const name = top.string('name', true);
  if (name) topology.name = name;

  const target = top.child('target', true);
  if (target) {
    target.only(['base_url', 'domain']);
    topology.target = {};
    const baseUrl = target.string('base_url', true);
    if (baseUrl) {
      if (!/^https?:\/\/[^/]+/.test(baseUrl))
        throw target.err('base_url', `"base_url" must be an http(s) URL, found ${JSON.stringify(baseUrl)}`);
      topology.target.baseUrl = baseUrl;
    }
    const domain = target.string('domain', true);
    if (domain) topology.target.domain = domain;
  }

  let nodeExporterDefault: number | false = false;
  const defaults = top.child('defaults', true);
  if (defaults) {
    defaults.only(['node_exporter_port']);
    nodeExporterDefault = defaults.number('node_exporter_port', { min: 1, integer: true, optional: true }) ?? false;
  }

  top.list('rows').forEach((raw, i) => {
    const f = Fields.at(src, ['rows', i], raw);
    f.only(ROW_KEYS);
    const row: VmRow = {
      name: f.string('name'),
      coresPerVm: f.number('cores', { min: 0 }),
      ramGbPerVm: f.number('ram_gb', { min: 0 }),
      storageGbPerVm: f.number('storage_gb', { min: 0 }),
      vmCount: f.number('vms', { min: 0, integer: true }),
      source: `${src.file}:${src.lineOf(['rows', i]) ?? '?'}`,
    };
    const group = f.string('storage_group', true);
    if (group) row.storageGroup = group;
    if (topology.rows.some((r) => r.name === row.name)) throw f.err('name', `row "${row.name}" is listed twice`);
    topology.rows.push(row);
  });

  top.list('hosts').forEach((raw, i) => {
    const f = Fields.at(src, ['hosts', i], raw);
    f.only(HOST_KEYS);
    const hostName = f.string('name');
    const address = f.string('address', true) ?? hostName;
    const host: Host = { name: hostName, address, groups: [], services: [] };
    if (topology.hosts.some((h) => h.name === hostName)) throw f.err('name', `host "${hostName}" is listed twice`);
    const row = f.string('row', true);
    if (row) {
      if (topology.rows.length && !topology.rows.some((r) => r.name === row)) {
        throw f.err('row', `row "${row}" is not one of the rows (${topology.rows.map((r) => r.name).join(', ')})`);
      }
      host.row = row;
    }
    host.groups = f.list('groups').map((g, k) => {
      if (typeof g !== 'string' || !g.trim()) throw src.error(['hosts', i, 'groups', k], `group must be a string, found ${describe(g)}`);
      return g.trim();
    });
    host.services = f.list('services').map((s, k) => readService(src, ['hosts', i, 'services', k], s, address));
    const container = f.string('container', true);
    if (container) host.container = container;
    // a container's figures come from the engine: no node_exporter default for it
    const ne = readNodeExporter(f, address, container ? false : nodeExporterDefault);
    if (ne) host.nodeExporter = ne;
    topology.hosts.push(host);
  });

  // Hosts per row against the row's VM count.
  for (const r of topology.rows) {
    const n = topology.hosts.filter((h) => h.row === r.name).length;
    if (topology.hosts.length && n !== r.vmCount) {
      warnings.push(`row "${r.name}" has ${r.vmCount} VM${r.vmCount === 1 ? '' : 's'} but ${n} host${n === 1 ? '' : 's'} name it`);
    }
  }
  return topology;
}

function readService(src: YamlSource, path: YamlPath, raw: unknown, address: string): ServiceInstance {
  if (typeof raw === 'string') raw = { kind: raw };
  const f = Fields.at(src, path, raw, 'a service kind or a mapping with "kind"');
  f.only(SERVICE_KEYS);
  const kind = f.string('kind');
  if (!isServiceKind(kind)) throw f.err('kind', `unknown service kind "${kind}" (known: ${SERVICE_KINDS.join(', ')})`);
  const defaults = DEFAULT_SERVICE_PORTS[kind];
  const protocol = readProtocol(f, 'protocol') ?? defaults.protocol;
  const service: ServiceInstance = { kind, name: f.string('name', true) ?? kind, endpoints: [] };

  if (f.has('port') && f.has('ports')) throw f.err('ports', 'give "port" or "ports", not both');
  const ports: number[] = [];
  if (f.has('port')) ports.push(f.number('port', { min: 1, integer: true }));
  f.list('ports').forEach((p, k) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) {
      throw src.error([...path, 'ports', k], `port must be a whole number 1-65535, found ${describe(p)}`);
    }
    ports.push(p);
  });
  for (const p of ports) if (p > 65535) throw f.err('port', `port ${p} is above 65535`);
  const url = f.string('url', true);
  if (url && ports.length > 1) throw f.err('url', '"url" goes with a single "port"; use "endpoints" for several');
  ports.forEach((p, k) =>
    service.endpoints.push(makeEndpoint(address, p, protocol, { url, name: ports.length > 1 ? `${service.name}-${k + 1}` : undefined })),
  );

  f.list('endpoints').forEach((e, k) => {
    const ef = Fields.at(src, [...path, 'endpoints', k], e);
    ef.only(ENDPOINT_KEYS);
    const port = ef.number('port', { min: 1, integer: true });
    if (port > 65535) throw ef.err('port', `port ${port} is above 65535`);
    service.endpoints.push(
      makeEndpoint(ef.string('host', true) ?? address, port, readProtocol(ef, 'protocol') ?? protocol, {
        url: ef.string('url', true),
        name: ef.string('name', true),
      }),
    );
  });

  if (service.endpoints.length === 0 && defaults.port !== undefined) {
    service.endpoints.push(makeEndpoint(address, defaults.port, protocol, { url }));
  }
  return service;
}

function readProtocol(f: Fields, key: string): Protocol | undefined {
  const p = f.string(key, true);
  if (p === undefined) return undefined;
  if (!(PROTOCOLS as string[]).includes(p)) throw f.err(key, `unknown protocol "${p}" (known: ${PROTOCOLS.join(', ')})`);
  return p as Protocol;
}

/**
 * node_exporter: true (default port), false (none), a port, "host:port", or a URL
 * (http://host:9100/metrics). With `defaults.node_exporter_port`, hosts that do not say get that port.
 */
function readNodeExporter(f: Fields, address: string, fallback: number | false): Endpoint | undefined {
  const v = f.obj.node_exporter;
  if (v === undefined || v === null)
    return fallback ? makeEndpoint(address, fallback, 'http', { url: metricsUrl(address, fallback) }) : undefined;
  if (v === false) return undefined;
  if (v === true)
    return makeEndpoint(address, NODE_EXPORTER_DEFAULT_PORT, 'http', { url: metricsUrl(address, NODE_EXPORTER_DEFAULT_PORT) });
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 65535) throw f.err('node_exporter', `node_exporter port must be 1-65535, found ${v}`);
    return makeEndpoint(address, v, 'http', { url: metricsUrl(address, v) });
  }
  if (typeof v === 'string') {
    if (/^https?:\/\//.test(v)) {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw f.err('node_exporter', `node_exporter is not a valid URL: ${JSON.stringify(v)}`);
      }
      const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
      const host = u.hostname.replace(/^\[|\]$/g, '');
      return makeEndpoint(host, port, u.protocol === 'https:' ? 'https' : 'http', { url: v });
    }
    const m = /^(.+):(\d+)$/.exec(v);
    if (m) {
      const port = Number(m[2]);
      if (port < 1 || port > 65535) throw f.err('node_exporter', `node_exporter port must be 1-65535, found ${port}`);
      return makeEndpoint(m[1]!, port, 'http', { url: metricsUrl(m[1]!, port) });
    }
  }
  throw f.err('node_exporter', `node_exporter must be true, false, a port, "host:port" or a URL, found ${describe(v)}`);
}

function metricsUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/metrics`;
}
