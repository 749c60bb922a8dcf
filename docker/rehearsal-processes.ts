// The HQ-compatible service's processes in a rehearsal, per container: web workers on the django hosts, the three
// pillows on the pillowtop host, the export workers on the celery host, each reaching the others by container name
// on the rehearsal's network (as VMs reach each other by name), and the proxy's upstream of the web hosts.
// Paths are the service image's (docker/hq.Dockerfile: /app, blobs on a volume shared as object storage).
import type { StackPorts } from '../stack/config.ts';
import type { ContainerPlan, RehearsalPlan, StandInKind } from './rehearsal-plan.ts';

export const BLOBS_IN_CONTAINER = '/data/blobs';
export const PILLOWS = ['xform', 'case', 'ucr'] as const;
export const KAFKA_PARTITIONS = 4;

export interface ServiceProcess {
  /** e.g. web, pillow-xform, celery-1 */
  name: string;
  argv: string[];
}

function hostOf(plan: RehearsalPlan, kind: StandInKind): ContainerPlan {
  const c = plan.containers.find((x) => x.services.includes(kind));
  if (!c) throw new Error(`the plan has no ${kind} host`);
  return c;
}

/** Where the service's processes find PostgreSQL, Kafka, Elasticsearch, Redis and RabbitMQ: by container name. */
export function serviceUrls(plan: RehearsalPlan, ports: StackPorts, pg: { user: string; password: string; database: string }) {
  const name = (k: StandInKind) => hostOf(plan, k).container;
  return {
    pg: `postgres://${pg.user}:${pg.password}@${name('postgresql')}:${ports.postgres}/${pg.database}`,
    kafka: `${name('kafka')}:${ports.kafka}`,
    es: `http://${name('elasticsearch')}:${ports.elasticsearch}`,
    redis: plan.containers.some((c) => c.services.includes('redis')) ? `redis://${name('redis')}:${ports.redis}` : undefined,
    amqp: plan.containers.some((c) => c.services.includes('rabbitmq'))
      ? `amqp://guest:guest@${name('rabbitmq')}:${ports.rabbitmq}`
      : undefined,
  };
}

const node = (entry: string, args: string[]) => ['node', '--import', 'tsx', `hq/${entry}`, ...args];

/** The service's processes one container runs (none for a host with only infrastructure). */
export function serviceProcesses(
  c: ContainerPlan,
  plan: RehearsalPlan,
  ports: StackPorts,
  pg: { user: string; password: string; database: string },
  opts: { celeryWorkers?: number; celeryConcurrency?: number } = {},
): ServiceProcess[] {
  const u = serviceUrls(plan, ports, pg);
  const common = ['--pg-url', u.pg, '--kafka', u.kafka, '--es', u.es, '--blobs', BLOBS_IN_CONTAINER];
  const out: ServiceProcess[] = [];
  if (c.services.includes('django')) {
    const args = ['--host', '0.0.0.0', '--port', String(ports.web), ...common];
    if (u.redis) args.push('--redis', u.redis);
    if (u.amqp) args.push('--amqp', u.amqp);
    out.push({ name: 'web', argv: node('web.ts', args) });
  }
  if (c.services.includes('pillowtop'))
    for (const p of PILLOWS)
      out.push({ name: `pillow-${p}`, argv: node('pillow.ts', ['--pillow', p, ...common, '--partitions', String(KAFKA_PARTITIONS)]) });
  if (c.services.includes('celery') && u.redis && u.amqp)
    for (let i = 1; i <= (opts.celeryWorkers ?? 2); i++)
      out.push({
        name: `celery-${i}`,
        argv: node('export-worker.ts', [
          '--name',
          `celery-${i}`,
          '--concurrency',
          String(opts.celeryConcurrency ?? 2),
          '--amqp',
          u.amqp,
          '--redis',
          u.redis,
          '--pg-url',
          u.pg,
          '--blobs',
          BLOBS_IN_CONTAINER,
        ]),
      });
  return out;
}

/** The proxy's upstream: every django host by container name, least_conn as the seed guide's. */
export function proxyUpstream(plan: RehearsalPlan, ports: StackPorts): string[] {
  return plan.containers.filter((c) => c.services.includes('django')).map((c) => `${c.container}:${ports.web}`);
}
