// The plan of a rehearsal: a topology's VMs played by containers. One container per host, with that host's
// services; CPU and memory limits = the host's row (cores, RAM) x the scale, raised to a stated minimum where a
// component cannot run below one; each host on its own loopback address with its services' ports published
// there. Pure: docker/rehearsal.ts starts what this plans, and writes the topology the run then uses.
import { stringify } from 'yaml';
import { UserError } from '../core/errors.ts';
import type { ServiceKind, Topology } from '../topology/model.ts';
import type { StackPorts } from '../stack/config.ts';
import { INNER_PORTS } from './container-specs.ts';
import type { ImageName } from './images.ts';

export const REHEARSAL_STACK = 'rehearsal';
/** Hosts get 127.0.1.<base + i>: clear of the remote-only test's 127.0.1.5-8. */
export const ADDRESS_BASE = 20;
/** A CPU limit below this gives a process too few CFS slices to answer health checks in time. */
export const CPU_FLOOR = 0.1;
/** Kafka's and Elasticsearch's JVM heaps in a rehearsal (as the local stack's config). */
export const ES_HEAP_MB = 512;
export const KAFKA_HEAP_MB = 512;

/** Components the stand-in has, by service kind; the others (couchdb, formplayer, object storage) are not started. */
export const STAND_IN_KINDS = [
  'postgresql',
  'kafka',
  'elasticsearch',
  'redis',
  'rabbitmq',
  'nginx',
  'django',
  'pillowtop',
  'celery',
] as const;
export type StandInKind = (typeof STAND_IN_KINDS)[number];
const isStandIn = (k: ServiceKind): k is StandInKind => (STAND_IN_KINDS as readonly string[]).includes(k);

/** What a component needs at the least, and why. Memory in MB. */
export const MINIMA: Record<StandInKind, { cores: number; memMb: number; why: string }> = {
  elasticsearch: { cores: 0.5, memMb: ES_HEAP_MB + 512, why: `JVM heap ${ES_HEAP_MB} MB + 512 MB off-heap, 0.5 cores to start in time` },
  kafka: { cores: 0.5, memMb: KAFKA_HEAP_MB + 256, why: `JVM heap ${KAFKA_HEAP_MB} MB + 256 MB, 0.5 cores to start in time` },
  postgresql: { cores: CPU_FLOOR, memMb: 384, why: 'shared_buffers and the backends of the web workers, pillows and celery' },
  rabbitmq: { cores: CPU_FLOOR, memMb: 256, why: 'the Erlang VM with the management plugin' },
  django: { cores: CPU_FLOOR, memMb: 224, why: 'one Node.js web worker (its young generation fixed at 32 MB)' },
  pillowtop: { cores: CPU_FLOOR, memMb: 512, why: 'three Node.js pillows (xform, case, UCR)' },
  celery: { cores: CPU_FLOOR, memMb: 896, why: 'two Node.js export workers, each a parent and two child processes (a prefork pool)' },
  redis: { cores: CPU_FLOOR, memMb: 32, why: 'Redis itself' },
  nginx: { cores: CPU_FLOOR, memMb: 32, why: 'nginx itself' },
};

export interface Scale {
  text: string;
  value: number;
}

/** `1/24`, `0.25` or `1`: a share of each row's cores and RAM, above 0 and at most 1. */
export function parseScale(text: string): Scale {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(t);
  const value = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!Number.isFinite(value) || value <= 0 || value > 1)
    throw new UserError(`--scale ${JSON.stringify(text)}: a share above 0 and at most 1, as 1/24 or 0.25`);
  return { text: t, value };
}

export interface PublishedPort {
  service: StandInKind | 'rabbitmq-management';
  /** Port inside the container: the image's own (container-specs.ts INNER_PORTS), Kafka's listener for the host. */
  containerPort: number;
  /** Port on the host's loopback address: the stack's port for the service (CAPACITY_PORTS). */
  hostPort: number;
}

/** The image that plays each service (docker/images.ts): the service's processes share the hq image. */
export const IMAGE_OF: Record<StandInKind, ImageName> = {
  postgresql: 'postgres',
  kafka: 'kafka',
  elasticsearch: 'elasticsearch',
  redis: 'redis',
  rabbitmq: 'rabbitmq',
  nginx: 'nginx',
  django: 'hq',
  pillowtop: 'hq',
  celery: 'hq',
};

export interface ContainerPlan {
  host: string;
  /** One image per container: a host whose services need two is refused (it would need two containers). */
  image: ImageName;
  row?: string;
  /** Loopback address the host's ports are published on. */
  address: string;
  /** Container name, also its name on the rehearsal's network. */
  container: string;
  services: StandInKind[];
  /** What the row asks for at this scale, before minima. */
  asked: { cores: number; memMb: number };
  cpus: number;
  memMb: number;
  /** Why the limits are what they are, one line. */
  why: string;
  ports: PublishedPort[];
}

export interface NotStarted {
  host: string;
  row?: string;
  services: ServiceKind[];
  reason: string;
}

export interface RehearsalPlan {
  stack: string;
  scale: Scale;
  containers: ContainerPlan[];
  notStarted: NotStarted[];
  /** The proxy host (nginx): the run's URL target. */
  entry?: { host: string; url: string };
  totals: { cpus: number; memMb: number };
}

const round = (x: number, step: number) => Math.round(x / step) * step;

/**
 * The plan for `topology` at `scale`. Each stand-in service listens on the port the stack config gives it
 * (CAPACITY_PORTS), published on its host's own address; web workers on `ports.web` each on their own host.
 */
export function planRehearsal(topology: Topology, scale: Scale, ports: StackPorts, stack = REHEARSAL_STACK): RehearsalPlan {
  const containers: ContainerPlan[] = [];
  const notStarted: NotStarted[] = [];
  const rows = new Map(topology.rows.map((r) => [r.name, r]));
  let n = ADDRESS_BASE;
  for (const host of topology.hosts) {
    const kinds = [...new Set(host.services.map((s) => s.kind))];
    const ours = kinds.filter(isStandIn);
    const others = kinds.filter((k) => !isStandIn(k));
    if (!ours.length) {
      notStarted.push({
        host: host.name,
        ...(host.row ? { row: host.row } : {}),
        services: kinds,
        reason: kinds.length ? `the stand-in has no ${others.join(', ')}` : 'no services',
      });
      continue;
    }
    const images = [...new Set(ours.map((k) => IMAGE_OF[k]))];
    if (images.length > 1)
      throw new UserError(
        `${topology.source.path}: host "${host.name}" runs ${ours.join(' and ')}, which a rehearsal plays with different images (${images.join(', ')}); give each its own host`,
      );
    const row = host.row ? rows.get(host.row) : undefined;
    if (!row)
      throw new UserError(`${topology.source.path}: host "${host.name}" names no VM row with cores and RAM, so its container has no size`);
    const asked = { cores: row.coresPerVm * scale.value, memMb: row.ramGbPerVm * 1024 * scale.value };
    // several services on one VM need the sum of their minima
    const min = ours.reduce((a, k) => ({ cores: Math.max(a.cores, MINIMA[k].cores), memMb: a.memMb + MINIMA[k].memMb }), {
      cores: CPU_FLOOR,
      memMb: 0,
    });
    const cpus = Math.max(round(asked.cores, 0.01), min.cores);
    const memMb = Math.max(round(asked.memMb, 1), min.memMb);
    const raised: string[] = [];
    if (cpus > round(asked.cores, 0.01)) raised.push(`CPU raised to ${cpus}`);
    if (memMb > round(asked.memMb, 1)) raised.push(`memory raised to ${memMb} MB`);
    const why = raised.length
      ? `${raised.join(', ')}: ${ours.map((k) => `${k} needs ${MINIMA[k].why}`).join('; ')}`
      : `${row.coresPerVm} cores, ${row.ramGbPerVm} GB x ${scale.text}`;
    const published: PublishedPort[] = [];
    const add = (service: PublishedPort['service'], containerPort: number, hostPort: number) =>
      published.push({ service, containerPort, hostPort });
    for (const k of ours) {
      if (k === 'postgresql') add(k, INNER_PORTS.postgres, ports.postgres);
      if (k === 'redis') add(k, INNER_PORTS.redis, ports.redis);
      if (k === 'kafka') add(k, INNER_PORTS.kafkaExternal, ports.kafka);
      if (k === 'elasticsearch') add(k, INNER_PORTS.elasticsearch, ports.elasticsearch);
      if (k === 'nginx') add(k, INNER_PORTS.nginx, ports.nginx);
      if (k === 'django') add(k, INNER_PORTS.web, ports.web);
      if (k === 'rabbitmq') {
        add(k, INNER_PORTS.rabbitmq, ports.rabbitmq);
        add('rabbitmq-management', INNER_PORTS.rabbitmqManagement, ports.rabbitmqManagement);
      }
    }
    containers.push({
      host: host.name,
      ...(host.row ? { row: host.row } : {}),
      address: `127.0.1.${n++}`,
      container: `${stack}-${host.name}`,
      image: images[0]!,
      services: ours,
      asked: { cores: round(asked.cores, 0.001), memMb: round(asked.memMb, 1) },
      cpus,
      memMb,
      why,
      ports: published,
    });
    if (others.length)
      notStarted.push({
        host: host.name,
        ...(host.row ? { row: host.row } : {}),
        services: others,
        reason: `the stand-in has no ${others.join(', ')}`,
      });
  }
  if (n - ADDRESS_BASE > 200)
    throw new UserError(`${topology.source.path}: ${n - ADDRESS_BASE} hosts is more than a rehearsal's 200 loopback addresses`);
  for (const need of ['postgresql', 'kafka', 'elasticsearch', 'nginx', 'django'] as const)
    if (!containers.some((c) => c.services.includes(need)))
      throw new UserError(
        `${topology.source.path}: no host runs ${need}, which the stand-in needs; a rehearsal plays every host that has one`,
      );
  const proxy = containers.find((c) => c.services.includes('nginx'))!;
  return {
    stack,
    scale,
    containers,
    notStarted,
    entry: { host: proxy.host, url: `http://${proxy.address}:${ports.nginx}` },
    totals: {
      cpus: round(
        containers.reduce((a, c) => a + c.cpus, 0),
        0.01,
      ),
      memMb: containers.reduce((a, c) => a + c.memMb, 0),
    },
  };
}

/** The plan as a table for the terminal: what each container got and why, and what was not started. */
export function formatPlan(plan: RehearsalPlan): string {
  const lines = [
    `rehearsal at scale ${plan.scale.text}: ${plan.containers.length} containers, ${plan.totals.cpus} CPUs and ${plan.totals.memMb} MB in all`,
    `  ${'host'.padEnd(12)} ${'row'.padEnd(12)} ${'address'.padEnd(12)} ${'asked'.padEnd(16)} ${'cpus'.padStart(5)} ${'memory'.padStart(8)}  why`,
  ];
  for (const c of plan.containers)
    lines.push(
      `  ${c.host.padEnd(12)} ${(c.row ?? '-').padEnd(12)} ${c.address.padEnd(12)} ${`${c.asked.cores} / ${c.asked.memMb} MB`.padEnd(16)} ${String(c.cpus).padStart(5)} ${`${c.memMb} MB`.padStart(8)}  ${c.why}`,
    );
  for (const s of plan.notStarted) lines.push(`  ${s.host.padEnd(12)} ${(s.row ?? '-').padEnd(12)} not started: ${s.reason}`);
  return lines.join('\n');
}

/**
 * The topology a run uses against the rehearsal, exactly as for real VMs: hosts at their addresses, services on
 * their published ports, the proxy as the target, each host's container for the collectors. PostgreSQL's URL
 * carries the rehearsal's own throw-away role (the file is written mode 600).
 */
export function rehearsalTopology(
  topology: Topology,
  plan: RehearsalPlan,
  pg: { user: string; password: string; database: string },
): string {
  const port = (c: ContainerPlan, s: PublishedPort['service']) => c.ports.find((p) => p.service === s)?.hostPort;
  const doc = {
    name: `${topology.name ?? 'topology'}-rehearsal`,
    description: `${topology.source.path} played by containers at scale ${plan.scale.text} (capacity stack up --containers --topology)`,
    target: { base_url: plan.entry!.url, domain: topology.target?.domain ?? 'demo' },
    rows: topology.rows.map((r) => ({
      name: r.name,
      cores: r.coresPerVm,
      ram_gb: r.ramGbPerVm,
      storage_gb: r.storageGbPerVm,
      vms: r.vmCount,
    })),
    hosts: plan.containers.map((c) => ({
      name: c.host,
      address: c.address,
      ...(c.row ? { row: c.row } : {}),
      container: c.container,
      services: c.services.map((k) => {
        if (k === 'postgresql')
          return { kind: k, port: port(c, k), url: `postgresql://${pg.user}:${pg.password}@${c.address}:${port(c, k)}/${pg.database}` };
        if (k === 'rabbitmq') return { kind: k, port: port(c, 'rabbitmq-management'), protocol: 'http' };
        if (k === 'pillowtop' || k === 'celery') return k;
        return { kind: k, port: port(c, k) };
      }),
    })),
  };
  return `# Written by capacity stack up --containers; removed by capacity stack down --containers.\n${stringify(doc)}`;
}
