import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { configWithPorts, parsePortOverrides } from '../../stack/config.ts';
import { componentByName, components, loadStackContext, stackDown, stackStatus, stackUp, stderrProgress } from '../../stack/stack.ts';
import { tailFile } from '../../stack/process.ts';
import { nginxUrl } from '../../stack/components/nginx.ts';
import { createPool, DEMO_DOMAIN, demoWorkers, newApiKeyFor } from '../../hq/index.ts';
import { postgresUrl } from '../../stack/components/postgres.ts';
import { writeFileAtomic } from '../../core/fs.ts';
import { formatBytes, formatTable } from '../table.ts';
import { UserError } from '../../core/errors.ts';
import { containerStackDown, containerStackLogs, containerStackStatus, containerStackUp } from '../../docker/container-stack.ts';
import { DEFAULT_REHEARSAL_WORKERS, rehearsalDown, rehearsalLogs, rehearsalStatus, rehearsalUp } from '../../docker/rehearsal.ts';
import { rehearsalFiles } from '../../docker/rehearsal-files.ts';

async function printStatus(): Promise<boolean> {
  const ctx = loadStackContext();
  const rows = await stackStatus(ctx);
  console.log(
    formatTable(
      ['component', 'version', 'state', 'pid', 'memory', 'endpoint'],
      rows.map((r) => [r.name, r.version, r.state, r.pid ? String(r.pid) : '-', formatBytes(r.rssBytes), r.endpoint]),
    ),
  );
  const total = rows.reduce((s, r) => s + (r.rssBytes ?? 0), 0);
  if (total > 0) console.log(`\nmemory in use by the stack: ${formatBytes(total)}`);
  if (rows.find((r) => r.name === 'nginx')?.state === 'running') {
    const w = demoWorkers(1)[0]!;
    const front = nginxUrl(ctx);
    console.log(`\nfront door: ${front}   domain: ${DEMO_DOMAIN}   mobile worker: ${w.username} / ${w.password}`);
    console.log(
      `post a form: curl -u ${w.username}:${w.password} -H 'X-OpenRosa-Version: 3.0' --data-binary @form.xml ${front}/a/${DEMO_DOMAIN}/receiver/`,
    );
    console.log(`restore:     curl -u ${w.username}:${w.password} '${front}/a/${DEMO_DOMAIN}/phone/restore/?version=2.0'`);
  }
  return rows.every((r) => r.state === 'running' || r.state === 'installed');
}

/**
 * `stack up|down|status --containers`: the same stack as containers on the Docker engine (docker/container-stack.ts).
 * Returns false when the options ask for the local stack.
 */
async function containersAction(action: 'up' | 'down' | 'status', opts: { containers?: boolean; ports?: string }): Promise<boolean> {
  if (!opts.containers) return false;
  if (opts.ports) throw new UserError('--ports moves the local stack; the containers publish on CAPACITY_CONTAINERS_<NAME>_PORT');
  if (action === 'up') {
    const t0 = Date.now();
    const up = await containerStackUp({ log: (m) => stderrProgress.step(m) });
    stderrProgress.step(
      up.started.length ? `up in ${((Date.now() - t0) / 1000).toFixed(1)} s (started ${up.started.join(', ')})` : 'already running',
    );
  }
  if (action === 'down') {
    const removed = await containerStackDown();
    console.log(removed.length ? `removed: ${removed.join(', ')}` : 'no container of this stack was there');
    return true;
  }
  const { stack, rows } = await containerStackStatus();
  if (rows.length === 0) {
    console.log(`containers: stack ${stack} has no containers (capacity stack up --containers)`);
    process.exitCode = 1;
    return true;
  }
  console.log(
    formatTable(
      ['component', 'container', 'state', 'memory', 'endpoint'],
      rows.map((r) => [r.component, r.container, r.state, formatBytes(r.memoryBytes), r.endpoint]),
    ),
  );
  const total = rows.reduce((s, r) => s + (r.memoryBytes ?? 0), 0);
  if (total > 0) console.log(`\nmemory in use by the containers: ${formatBytes(total)}`);
  const front = rows.find((r) => r.component === 'nginx');
  if (front?.state === 'running') {
    const w = demoWorkers(1)[0]!;
    console.log(`\nfront door: ${front.endpoint}   domain: ${DEMO_DOMAIN}   mobile worker: ${w.username} / ${w.password}`);
  }
  if (!rows.every((r) => r.state === 'running')) process.exitCode = 1;
  return true;
}

interface RehearsalOpts {
  containers?: boolean;
  topology?: string;
  scale?: string;
  workers?: string;
  ports?: string;
}

/**
 * `stack up|down|status --containers --topology FILE [--scale S]`: a topology's VMs rehearsed in containers
 * (docker/rehearsal.ts). Returns false when the options ask for something else.
 */
async function rehearsalAction(action: 'up' | 'down' | 'status', opts: RehearsalOpts): Promise<boolean> {
  if (!opts.topology && !opts.scale) return false;
  if (!opts.containers) throw new UserError('--topology and --scale rehearse a topology in containers: add --containers');
  if (!opts.topology) throw new UserError('--scale needs --topology FILE (the VMs to rehearse)');
  if (action === 'up') {
    if (!opts.scale) throw new UserError('--topology needs --scale: the share of each VM row a container gets, as 1/24');
    const workers = Number(opts.workers ?? DEFAULT_REHEARSAL_WORKERS);
    if (!Number.isInteger(workers) || workers < 1 || workers > 10_000)
      throw new UserError(`--workers must be a whole number from 1 to 10000, not "${opts.workers}"`);
    const up = await rehearsalUp({
      topologyFile: opts.topology,
      scale: opts.scale,
      ports: configWithPorts(parsePortOverrides(opts.ports ?? process.env.CAPACITY_PORTS)).ports,
      workers,
      log: (m) => stderrProgress.step(m),
    });
    console.log(`topology for the run: ${up.files.topology}\ncredentials (${up.workers} mobile workers): ${up.files.credentials}`);
    // data liveness followed in the rehearsal's Elasticsearch, as --es-url does for a real cluster
    const es = up.plan.containers.find((c) => c.services.includes('elasticsearch'));
    const esPort = es?.ports.find((p) => p.service === 'elasticsearch')?.hostPort;
    console.log(
      `run:    capacity run ramp-to-break --target ${up.plan.entry!.url} --topology ${up.files.topology} ` +
        `--credentials ${up.files.credentials}${es ? ` --es-url http://${es.address}:${esPort}` : ''}`,
    );
    console.log(`report: capacity report RESULTS-DIR --topology ${up.files.topology}`);
    return true;
  }
  if (action === 'down') {
    const removed = await rehearsalDown();
    console.log(removed.length ? `removed: ${removed.join(', ')}` : 'no rehearsal container was there');
    return true;
  }
  const { hosts, topology, scale } = await rehearsalStatus();
  if (hosts.length === 0) {
    console.log(`no rehearsal is up (capacity stack up --containers --topology ${opts.topology} --scale 1/24)`);
    process.exitCode = 1;
    return true;
  }
  console.log(`rehearsal of ${topology ?? '?'} at scale ${scale ?? '?'}`);
  console.log(
    formatTable(
      ['host', 'container', 'state', 'address', 'cpus', 'memory limit', 'memory used'],
      hosts.map((h) => [
        h.host,
        h.container,
        h.state,
        h.address,
        h.cpus !== undefined ? String(h.cpus) : '-',
        formatBytes(h.memLimitBytes),
        formatBytes(h.memUsedBytes),
      ]),
    ),
  );
  const total = hosts.reduce((a, h) => a + (h.memUsedBytes ?? 0), 0);
  if (total > 0) console.log(`\nmemory in use by the rehearsal: ${formatBytes(total)}`);
  console.log(`topology for the run: ${rehearsalFiles().topology}`);
  if (!hosts.every((h) => h.state === 'running')) process.exitCode = 1;
  return true;
}

export function register(program: Command): void {
  const stack = program.command('stack').description('the local stack: PostgreSQL, Kafka, Elasticsearch, nginx, Redis, k6');

  stack
    .command('up')
    .description('install what is missing (cached), start every component and wait until each is healthy')
    .option('--ports <list>', 'port overrides, e.g. postgres=25432,nginx=28080 (also CAPACITY_PORTS)')
    .option(
      '--containers',
      'the stack as containers on the Docker engine (ports: CAPACITY_CONTAINERS_*_PORT, name: CAPACITY_CONTAINERS_STACK)',
    )
    .option('--topology <file>', "with --containers: rehearse this topology's VMs, one container per host (docker/README.md)")
    .option('--scale <share>', "with --topology: each container gets its VM row's cores and RAM times this, as 1/24")
    .option('--workers <n>', `with --topology: mobile workers made for the run (default ${DEFAULT_REHEARSAL_WORKERS})`)
    .action(async (opts: RehearsalOpts) => {
      if (await rehearsalAction('up', opts)) return;
      if (await containersAction('up', opts)) return;
      const ports = parsePortOverrides(opts.ports ?? process.env.CAPACITY_PORTS);
      const ctx = loadStackContext({ ports, progress: stderrProgress, createUser: true });
      const t0 = Date.now();
      const res = await stackUp(ctx);
      stderrProgress.step(
        res.started.length ? `up in ${((Date.now() - t0) / 1000).toFixed(1)} s (started ${res.started.join(', ')})` : 'already running',
      );
      await printStatus();
    });

  stack
    .command('down')
    .description('stop the processes the stack started (by pid)')
    .option('--containers', "remove the containerised stack's containers and network (by its label only)")
    .option('--topology <file>', "with --containers: remove the rehearsal's containers, network and files instead")
    .action(async (opts: RehearsalOpts) => {
      if (await rehearsalAction('down', opts)) return;
      if (await containersAction('down', opts)) return;
      const stopped = await stackDown(loadStackContext({ progress: stderrProgress }));
      console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
    });

  stack
    .command('status')
    .description('each component with version, state, pid, memory and endpoint')
    .option('--containers', "the containerised stack's containers: state, memory, endpoint")
    .option('--topology <file>', "with --containers: the rehearsal's hosts instead: address, limits, memory")
    .action(async (opts: RehearsalOpts) => {
      if (await rehearsalAction('status', opts)) return;
      if (await containersAction('status', opts)) return;
      if (!(await printStatus())) process.exitCode = 1;
    });

  stack
    .command('logs')
    .description('show the last lines of a component log (all components when none is named)')
    .argument(
      '[component]',
      `one of ${components()
        .filter((c) => c.start)
        .map((c) => c.name)
        .join(', ')}`,
    )
    .option('-n, --lines <n>', 'lines to show', '40')
    .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)')
    .option('--containers', "the containerised stack's containers (their output, from the engine)")
    .option('--topology <file>', "with --containers: a rehearsal's hosts (name one, as web1)")
    .action(async (name: string | undefined, opts: { lines: string; follow?: boolean; containers?: boolean; topology?: string }) => {
      const n = Number(opts.lines);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--lines must be a positive whole number, not "${opts.lines}"`);
      if (opts.topology) {
        if (!opts.containers) throw new UserError('--topology names a rehearsal in containers: add --containers');
        if (opts.follow) throw new UserError('--follow with a rehearsal: use `docker logs -f rehearsal-<host>`');
        for (const l of await rehearsalLogs({ ...(name ? { host: name } : {}), lines: n }))
          console.log(`==> ${l.host} (${l.container}) <==\n${l.text || '(no output yet)'}`);
        return;
      }
      if (opts.containers) {
        if (opts.follow) throw new UserError('--follow with --containers: use `docker logs -f <stack>-<component>`');
        for (const l of await containerStackLogs({ component: name, lines: n }))
          console.log(`==> ${l.component} (${l.container}) <==\n${l.text || '(no output yet)'}`);
        return;
      }
      const ctx = loadStackContext();
      const chosen = name ? [componentByName(name)] : components().filter((c) => c.start);
      if (opts.follow) {
        const files = chosen.map((c) => c.logFile(ctx));
        await new Promise<void>((resolve) => {
          const child = spawn('tail', ['-n', String(n), '-F', ...files], { stdio: 'inherit' });
          child.on('exit', () => resolve());
          process.once('SIGINT', () => child.kill('SIGTERM'));
        });
        return;
      }
      for (const c of chosen) {
        const lines = tailFile(c.logFile(ctx), n);
        console.log(`==> ${c.name} (${c.logFile(ctx)}) <==`);
        console.log(lines.length ? lines.join('\n') : '(no log yet)');
      }
    });

  stack
    .command('api-key')
    .description("a new API key of the local stack's HQ-compatible service (for `capacity workers`), written to a file with mode 600")
    .requiredOption('--out <file>', 'where the line <web user>:<key> goes')
    .option('--domain <name>', 'the project space it opens (a web user belongs to one)', 'capacity-load')
    .option('--user <name>', 'the web user it belongs to, made when missing (default admin@<domain>.capacity.local)')
    .action(async (opts: { out: string; domain: string; user?: string }) => {
      const user = opts.user ?? `admin@${opts.domain}.capacity.local`;
      const pool = createPool(postgresUrl(loadStackContext()), 1);
      let key: string;
      try {
        key = await newApiKeyFor(pool, opts.domain, user);
      } catch (err) {
        throw new UserError(
          `cannot create an API key in the local stack's PostgreSQL (${(err as Error).message}): is the stack up? (capacity stack up)`,
          1,
        );
      } finally {
        await pool.end();
      }
      writeFileAtomic(opts.out, `${user}:${key}\n`, 0o600);
      console.log(`API key of ${user} for ${opts.domain} written to ${opts.out} (mode 600)`);
    });
}
