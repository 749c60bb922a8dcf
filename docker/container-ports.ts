// The host ports the containerised stack publishes (on 127.0.0.1 only), and its name: 3xxxx by default, clear of the
// local stack's 1xxxx, each moved by a CAPACITY_CONTAINERS_<NAME>_PORT variable; the stack by CAPACITY_CONTAINERS_STACK.
import { UserError } from '../core/errors.ts';
import { defaultConfig, type StackConfig, type StackPorts } from '../stack/config.ts';
import { DEFAULT_STACK } from './engine.ts';

/** The ports a containerised stack publishes (web: the first web worker's; worker i is web + i). */
export const PUBLISHED = ['postgres', 'redis', 'kafka', 'elasticsearch', 'nginx', 'rabbitmq', 'rabbitmqManagement', 'web'] as const;
export type PublishedName = (typeof PUBLISHED)[number];
export type ContainerPorts = Record<PublishedName, number>;

export const DEFAULT_CONTAINER_PORTS: ContainerPorts = {
  postgres: 33432,
  redis: 33379,
  kafka: 33092,
  elasticsearch: 33200,
  nginx: 33080,
  rabbitmq: 33672,
  rabbitmqManagement: 33673,
  web: 33001,
};

/** `rabbitmqManagement` -> CAPACITY_CONTAINERS_RABBITMQ_MANAGEMENT_PORT */
export const portVariable = (name: PublishedName) => `CAPACITY_CONTAINERS_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`;

export function containerStackName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.CAPACITY_CONTAINERS_STACK || DEFAULT_STACK;
  // it prefixes container and network names
  if (!/^[a-z0-9][a-z0-9_.-]{0,40}$/.test(name))
    throw new UserError(`CAPACITY_CONTAINERS_STACK=${name}: lower-case letters, digits, _ . -`);
  return name;
}

/** The port plan: defaults, moved by the variables; every host port distinct (the web workers' too). */
export function containerPorts(env: NodeJS.ProcessEnv = process.env, webWorkers = defaultConfig().webWorkers): ContainerPorts {
  const out = { ...DEFAULT_CONTAINER_PORTS };
  for (const name of PUBLISHED) {
    const variable = portVariable(name);
    const v = env[variable];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1024 || n > 65535) throw new UserError(`${variable}=${v}: a port between 1024 and 65535`);
    out[name] = n;
  }
  const seen = new Map<number, string>();
  const claim = (port: number, who: string) => {
    const other = seen.get(port);
    if (other)
      throw new UserError(
        `containers: ${other} and ${who} would both publish port ${port} (${portVariable('web')} and the others move them)`,
      );
    seen.set(port, who);
  };
  for (const name of PUBLISHED) if (name !== 'web') claim(out[name], name);
  for (let i = 0; i < webWorkers; i++) claim(out.web + i, `web-${i + 1}`);
  return out;
}

/** Every host port of the plan, with what it is for. */
export function hostPorts(ports: ContainerPorts, webWorkers = defaultConfig().webWorkers): { port: number; what: string }[] {
  return [
    ...PUBLISHED.filter((n) => n !== 'web').map((n) => ({ port: ports[n], what: n })),
    ...Array.from({ length: webWorkers }, (_, i) => ({ port: ports.web + i, what: `web-${i + 1}` })),
  ];
}

/**
 * A StackConfig whose ports are the published ones, so the local stack's URL helpers and probes reach the
 * containers. The ports the containers keep to themselves (Kafka's controller, Elasticsearch's transport, Erlang's
 * distribution) are 0: nothing on the host uses them.
 */
export function containerStackConfig(ports: ContainerPorts): StackConfig {
  const cfg = defaultConfig();
  const p: StackPorts = { ...ports, kafkaController: 0, elasticsearchTransport: 0, rabbitmqDist: 0 };
  return { ...cfg, ports: p };
}
