// What each container of a rehearsal runs, from the components of the full stack in containers
// (container-specs.ts: images, commands, environment, in-container ports, health probes): the infrastructure host
// runs its component, the django hosts a web worker each, the pillowtop host the three pillows, the celery host the
// export workers, the proxy host nginx with the web hosts as its upstream. On the rehearsal's network each
// infrastructure host also answers to its component's name (postgres, kafka, ...), which is where the shared
// specs' commands reach it, as VMs reach each other by name.
import { defaultConfig, type StackConfig, type StackPorts } from '../stack/config.ts';
import { containerNginxConf, infrastructureSpecs, nginxSpec, PILLOW_KINDS, serviceSpecs, type ComponentSpec } from './container-specs.ts';
import { ES_HEAP_MB, KAFKA_HEAP_MB, type ContainerPlan, type RehearsalPlan } from './rehearsal-plan.ts';

export const KAFKA_PARTITIONS = 4;
export { PILLOW_KINDS as PILLOWS };

/** The stack config the shared specs are made from: the stack's ports (CAPACITY_PORTS), the rehearsal's heaps. */
export function rehearsalConfig(ports: StackPorts): StackConfig {
  return { ...defaultConfig(), ports, esHeapMb: ES_HEAP_MB, kafkaHeapMb: KAFKA_HEAP_MB, kafkaPartitions: KAFKA_PARTITIONS };
}

/** The components one host runs (one image per host: rehearsal-plan.ts refuses a host that needs two). */
export function hostComponents(c: ContainerPlan, cfg: StackConfig): ComponentSpec[] {
  const infra = infrastructureSpecs(cfg).filter((s) => s.image === c.image);
  if (infra.length) return infra;
  if (c.image === 'nginx') return [nginxSpec()];
  const service = serviceSpecs(cfg);
  const out: ComponentSpec[] = [];
  // every django host runs one web worker, on the same port on its own address
  if (c.services.includes('django')) out.push(service.find((s) => s.component === 'web-1')!);
  if (c.services.includes('pillowtop')) out.push(...service.filter((s) => s.component.startsWith('pillow-')));
  if (c.services.includes('celery')) out.push(...service.filter((s) => s.component.startsWith('celery-')));
  return out;
}

/** The host's name on the network besides its container name: its component's, for an infrastructure host. */
export function networkAlias(c: ContainerPlan, components: readonly ComponentSpec[]): string {
  return c.image === 'hq' || c.image === 'nginx' ? c.container : components[0]!.component;
}

/** The environment of a host's container: Kafka tells the host's clients its own address and published port. */
export function hostEnv(c: ContainerPlan, components: readonly ComponentSpec[]): Record<string, string> {
  const env: Record<string, string> = Object.assign({}, ...components.map((s) => s.env ?? {}));
  const kafka = c.ports.find((p) => p.service === 'kafka');
  if (kafka) env.KAFKA_EXTERNAL = `${c.address}:${kafka.hostPort}`;
  return env;
}

/** The container's command: the one component's own, or a supervisor of several. Undefined: the image's. */
export function hostCommand(components: readonly ComponentSpec[]): string[] | undefined {
  if (components.length === 1) return components[0]!.cmd;
  return supervisorCommand(components.map((s) => ({ name: s.component, argv: s.cmd! })));
}

/** The proxy's upstream: every django host by container name, least_conn as the seed guide's. */
export function proxyUpstream(plan: RehearsalPlan): string[] {
  return plan.containers.filter((c) => c.services.includes('django')).map((c) => c.container);
}

/** nginx's file on the proxy host (the full stack's, with the web hosts as its upstream). */
export function proxyConf(plan: RehearsalPlan): string {
  return containerNginxConf(proxyUpstream(plan));
}

const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

/**
 * The command of a container that runs several processes: started side by side by a shell that stops the
 * container as soon as one of them exits (so a crash shows as a stopped container, named with its log).
 */
export function supervisorCommand(processes: readonly { name: string; argv: readonly string[] }[]): string[] {
  const lines = ['pids=""'];
  for (const p of processes) lines.push(`${p.argv.map(quote).join(' ')} & pids="$pids $!"`, `echo "started ${p.name} (pid $!)" >&2`);
  lines.push(
    "trap 'kill $pids 2>/dev/null; exit 0' TERM INT",
    'while :; do for p in $pids; do kill -0 $p 2>/dev/null || { echo "a process (pid $p) exited: stopping the container" >&2; kill $pids 2>/dev/null; exit 1; }; done; sleep 1; done',
  );
  return ['/bin/sh', '-c', lines.join('\n')];
}
