// The topology model: what a CommCare HQ installation is made of, as read from a VM summary table, a YAML
// topology file or a commcare-cloud inventory. Plain data (JSON-serialisable) so a results directory can keep it.

/** One row of a VM summary: a kind of VM and how many of them there are. Figures are per VM. */
export interface VmRow {
  name: string;
  coresPerVm: number;
  ramGbPerVm: number;
  /** Data storage per VM in GB (the OS disk is not included, as in commcare_resource_model). */
  storageGbPerVm: number;
  vmCount: number;
  /** Storage group (e.g. SSD, SAS, VM_other) when the source says. */
  storageGroup?: string;
  /** Where the row came from, for messages: "file:line". */
  source?: string;
}

/** The services the harness knows how to load and watch. */
export const SERVICE_KINDS = [
  'postgresql',
  'couchdb',
  'elasticsearch',
  'kafka',
  'rabbitmq',
  'redis',
  'nginx',
  'django',
  'celery',
  'pillowtop',
  'formplayer',
  'object_storage',
] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export function isServiceKind(value: string): value is ServiceKind {
  return (SERVICE_KINDS as readonly string[]).includes(value);
}

export type Protocol = 'http' | 'https' | 'postgresql' | 'kafka' | 'redis' | 'amqp' | 'tcp';

/** Default port and protocol per service. Real installs differ: a topology file can say otherwise. */
export const DEFAULT_SERVICE_PORTS: Record<ServiceKind, { port?: number; protocol: Protocol }> = {
  postgresql: { port: 5432, protocol: 'postgresql' },
  couchdb: { port: 5984, protocol: 'http' },
  elasticsearch: { port: 9200, protocol: 'http' },
  kafka: { port: 9092, protocol: 'kafka' },
  rabbitmq: { port: 5672, protocol: 'amqp' },
  redis: { port: 6379, protocol: 'redis' },
  nginx: { port: 80, protocol: 'http' },
  django: { port: 9010, protocol: 'http' }, // commcare-cloud's gunicorn port
  celery: { protocol: 'tcp' }, // no listening port of its own (flower is optional)
  pillowtop: { protocol: 'tcp' }, // consumes Kafka, listens on nothing
  formplayer: { port: 8080, protocol: 'http' },
  object_storage: { port: 9000, protocol: 'http' }, // MinIO; RiakCS listens on 8080
};

export const NODE_EXPORTER_DEFAULT_PORT = 9100;

/** A place to connect to. `url` is set for protocols that have a URL form. */
export interface Endpoint {
  host: string;
  port: number;
  protocol: Protocol;
  url?: string;
  /** Free-form label, e.g. "worker-2" or "metrics". */
  name?: string;
}

/** A service running on a host. */
export interface ServiceInstance {
  kind: ServiceKind;
  /** Name as the source gave it (e.g. the inventory group "couchdb2", or "es_datanode"). */
  name: string;
  endpoints: Endpoint[];
  /** Process layout when known (celery queues, pillows, gunicorn workers). */
  processes?: ProcessInfo[];
}

export interface ProcessInfo {
  /** celery: the comma-joined queue list; pillowtop: the pillow name; django: "gunicorn". */
  name: string;
  /** Worker processes (pillow num_processes, celery num_workers); 1 when unsaid. */
  count: number;
  /** celery concurrency per worker, gunicorn workers per host. */
  concurrency?: number;
  pooling?: string;
}

export interface Host {
  name: string;
  /** IP address or DNS name used to reach the host. */
  address: string;
  /** The VM row this host is one of, when known. */
  row?: string;
  /** Groups (inventory groups, or labels from YAML), outermost last. */
  groups: string[];
  services: ServiceInstance[];
  /** Where a Prometheus node_exporter answers on this host, if one runs. */
  nodeExporter?: Endpoint;
  /** A container that plays this VM (a rehearsal): its figures come from the Docker engine's stats, not node_exporter. */
  container?: string;
  /** Other host variables from the source (inventory host vars), as strings. */
  vars?: Record<string, string>;
}

export type TopologyFormat = 'grid' | 'markdown' | 'csv' | 'yaml' | 'inventory';

export interface Topology {
  name?: string;
  /** The file(s) it was read from, and how. */
  source: { path: string; format: TopologyFormat; extra?: string[] };
  rows: VmRow[];
  hosts: Host[];
  /** Web-facing entry point for load, when the source says (YAML `target`). */
  target?: { baseUrl?: string; domain?: string };
  /** commcare-cloud app-processes settings that are not per host. */
  appSettings?: { gunicornWorkersFactor?: number; gunicornWorkersStaticFactor?: number };
  /** Things worth telling the user that did not stop the read. */
  warnings: string[];
}

export interface Totals {
  rows: number;
  vms: number;
  cores: number;
  ramGb: number;
  storageGb: number;
}

/** Sums over rows: VMs, and cores / RAM / data storage multiplied by each row's VM count. */
export function totals(rows: readonly VmRow[]): Totals {
  let vms = 0;
  let cores = 0;
  let ramGb = 0;
  let storageGb = 0;
  for (const r of rows) {
    vms += r.vmCount;
    cores += r.coresPerVm * r.vmCount;
    ramGb += r.ramGbPerVm * r.vmCount;
    storageGb += r.storageGbPerVm * r.vmCount;
  }
  return { rows: rows.length, vms, cores, ramGb: roundTo(ramGb, 6), storageGb: roundTo(storageGb, 6) };
}

export function roundTo(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** Every endpoint of one kind of service, across hosts (e.g. all web workers for a load balancer check). */
export function endpointsFor(topology: Topology, kind: ServiceKind): Endpoint[] {
  return topology.hosts.flatMap((h) => h.services.filter((s) => s.kind === kind).flatMap((s) => s.endpoints));
}

/** node_exporter endpoints, one per host that has one. */
export function nodeExporters(topology: Topology): Array<{ host: string; endpoint: Endpoint }> {
  return topology.hosts.flatMap((h) => (h.nodeExporter ? [{ host: h.name, endpoint: h.nodeExporter }] : []));
}

/** Builds an endpoint, with a URL for the protocols that have one. */
export function makeEndpoint(host: string, port: number, protocol: Protocol, extra: { url?: string; name?: string } = {}): Endpoint {
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let url = extra.url;
  if (!url) {
    switch (protocol) {
      case 'http':
      case 'https':
        url = `${protocol}://${hostPart}:${port}/`;
        break;
      case 'postgresql':
      case 'redis':
      case 'amqp':
        url = `${protocol}://${hostPart}:${port}`;
        break;
      default:
        url = undefined;
    }
  }
  const ep: Endpoint = { host, port, protocol };
  if (url) ep.url = url;
  if (extra.name) ep.name = extra.name;
  return ep;
}

/**
 * Which service a VM summary row or inventory group name stands for, by the names commcare-cloud and
 * commcare_resource_model use. Undefined for names that are not one of SERVICE_KINDS (e.g. "control").
 */
export function serviceKindForName(name: string): ServiceKind | undefined {
  const n = name.toLowerCase().replace(/[-\s]+/g, '_');
  if (isServiceKind(n)) return n;
  const rules: Array<[RegExp, ServiceKind]> = [
    [/^(pg|postgres|postgresql|pgbouncer|pg_standby|remote_postgresql|citusdb|plproxy)(_|\d|$)/, 'postgresql'],
    [/^couch(db)?\d*(_|$)/, 'couchdb'],
    [/^(es|elasticsearch)(_|\d|$)/, 'elasticsearch'],
    [/^kafka\d*(_|$)/, 'kafka'],
    [/^rabbit(mq)?\d*(_|$)/, 'rabbitmq'],
    [/^redis\d*(_|$)/, 'redis'],
    [/^(nginx|proxy)\d*(_|$)/, 'nginx'],
    [/^(django|web|webworkers?|gunicorn)\d*(_|$)/, 'django'],
    [/^celery\d*(_|$)/, 'celery'],
    [/^(pillowtop|pillows?)\d*(_|$)/, 'pillowtop'],
    [/^formplayer\d*(_|$)/, 'formplayer'],
    [/^(riakcs|riak|minio|s3|object_storage|blobdb)\d*(_|$)/, 'object_storage'],
  ];
  for (const [re, kind] of rules) if (re.test(n)) return kind;
  return undefined;
}
