// The seed's VM summary rehearsed in containers on a real Docker engine, at 1/24: one container per host on its
// own loopback address; then, exactly as against real VMs, a short ramp-to-break through the proxy host's URL with
// the collectors by address (the engine's stats per container), and the report's per-VM verdicts: the first VM to
// saturate is named and every row that carries load has its measured utilisation. Before that, a host that fails
// is named with its log tail and the whole rehearsal removed. Skipped only when no Docker engine answers.
// On a fresh machine the images are built here (docker/images.ts), a few minutes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../core/errors.ts';
import { repoRoot } from '../../core/paths.ts';
import { configWithPorts, parsePortOverrides } from '../../stack/config.ts';
import { docker, engineAvailable, listStack } from '../../docker/engine.ts';
import { rehearsalDown, rehearsalStatus, rehearsalUp, type RehearsalUp } from '../../docker/rehearsal.ts';

const STACK = 'rehearsal-test';
const SEED = path.join(repoRoot, 'topology/examples/seed-multi-vm.yaml');
const skip = (await engineAvailable()) ? false : 'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)';
const ports = configWithPorts(parsePortOverrides(process.env.CAPACITY_PORTS)).ports;

/** The CLI as a person runs it, in its own process (nothing of the test's process is shared with the run). */
function capacity(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repoRoot, 'capacity'), args, { cwd: repoRoot, timeout: 10 * 60_000, maxBuffer: 64 << 20 }, (err, _out, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }),
    );
  });
}
const progress = (m: string) => process.stderr.write(`# ${m.split('\n').join('\n# ')}\n`);

describe('the seed rehearsed in containers at 1/24', { skip, timeout: 20 * 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-rehearsal-'));
  const files = { topology: path.join(dir, 'topology.yaml'), credentials: path.join(dir, 'credentials.csv') };
  let up: RehearsalUp;

  before(async () => {
    await rehearsalDown({ stack: STACK, files });
  });

  after(async () => {
    await rehearsalDown({ stack: STACK, files }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a host that is not healthy in time is named with its log tail, and the whole rehearsal is removed', async () => {
    await assert.rejects(
      rehearsalUp({ topologyFile: SEED, scale: '1/24', ports, stack: STACK, files, log: progress, startupTimeoutMs: 1 }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /^rehearsal: \w+ \(rehearsal-test-\w+, [a-z]+\) not healthy after \d+ s/);
        assert.match(err.message, /its log ends:/);
        return true;
      },
    );
    assert.deepEqual(await listStack(STACK), [], 'nothing left running');
    assert.ok(!fs.existsSync(files.topology), 'no topology file for a rehearsal that is not up');
  });

  it('starts one container per host the stand-in can play, each on its own address with its limits', async () => {
    up = await rehearsalUp({ topologyFile: SEED, scale: '1/24', ports, stack: STACK, files, workers: 100, log: progress });
    progress(
      `rehearsal up in ${up.seconds.total.toFixed(1)} s (images ${up.seconds.images.toFixed(1)} s, containers ${up.seconds.containers.toFixed(1)} s); ` +
        `${(Object.values(up.memoryAtRest).reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(0)} MB at rest`,
    );
    const { hosts } = await rehearsalStatus({ stack: STACK });
    assert.deepEqual(hosts.map((h) => h.host).sort(), up.plan.containers.map((c) => c.host).sort());
    assert.equal(hosts.length, 11);
    for (const c of up.plan.containers) {
      const h = hosts.find((x) => x.host === c.host)!;
      assert.equal(h.state, 'running', c.host);
      assert.equal(h.address, c.address);
      assert.equal(h.cpus, c.cpus, `${c.host}: CPU limit as planned`);
      assert.equal(h.memLimitBytes, c.memMb * 2 ** 20, `${c.host}: memory limit as planned`);
    }
    // the proxy answers at its own address; every port is published on its host's address only
    const res = await fetch(`${up.plan.entry!.url}/healthz`);
    assert.equal(res.status, 200);
    for (const c of up.plan.containers) {
      const bindings = (await docker().getContainer(c.container).inspect()).HostConfig.PortBindings as Record<string, { HostIp: string }[]>;
      const ips = Object.values(bindings).flatMap((b) => b.map((x) => x.HostIp));
      assert.deepEqual([...new Set(ips)], c.ports.length ? [c.address] : [], c.host);
    }
    assert.match(fs.readFileSync(files.credentials, 'utf8'), /^rehearsal0001@/);
    assert.equal(fs.statSync(files.topology).mode & 0o777, 0o600);
  });

  it('a short ramp through the proxy names the first VM to saturate; every row that carries load has measured utilisation', async () => {
    assert.ok(up, 'the rehearsal is up');
    const results = path.join(dir, 'results');
    // bounded: +15/s every 15 s up to 150/s is at most 150 s; k6 stops earlier when the p95 threshold (10 s) or 20 % failures break
    const run = await capacity(
      'run',
      'ramp-to-break',
      '--target',
      up.plan.entry!.url,
      // no --domain: the rehearsal's topology file names its project space
      '--topology',
      files.topology,
      '--credentials',
      files.credentials,
      '--users',
      '100',
      '--step-rate',
      '15',
      '--step',
      '15s',
      '--max-rate',
      '150',
      // latency alone does not stop it: the ramp goes on until a container is at its limit for a whole step
      // (on a busy machine a starved container reaches ~90 % of its quota only with a deep queue)
      '--p95-write',
      '10000',
      '--interval',
      '2',
      '--results',
      results,
    );
    assert.ok(run.code === 0 || run.code === 1, `ramp-to-break ran (exit ${run.code}): ${run.stderr.slice(-800)}`);
    const [runDir] = fs.readdirSync(results).map((d) => path.join(results, d));
    assert.ok(runDir);
    const report = await capacity('report', runDir, '--topology', files.topology, '--formats', 'json');
    assert.equal(report.code, 0, report.stderr.slice(-800));
    const json = JSON.parse(fs.readFileSync(path.join(runDir, 'report', 'report.json'), 'utf8')) as {
      rehearsal?: {
        firstToSaturate?: { host: string; row?: string; rate: number; resource: string; value: number };
        rows: Array<{ row: string; hosts: string[]; state: string; cpuPctMean?: number; memPctMax?: number; cpuPctAtRate?: number }>;
      };
    };
    const r = json.rehearsal;
    assert.ok(r, 'the report judges the run as a rehearsal (host samples through the engine)');
    const first = r.firstToSaturate;
    assert.ok(first, `a VM saturated: ${JSON.stringify(r.rows)}`);
    progress(
      `first to saturate: ${first.host} (${first.row}) at the ${first.rate}/s step, ${first.resource} ${first.value.toFixed(0)} % of its limit`,
    );
    assert.ok(
      up.plan.containers.some((c) => c.host === first.host),
      'a host of the rehearsal',
    );
    assert.ok(first.value >= 90);
    assert.equal(r.rows.find((x) => x.row === first.row)?.state, 'saturated first');
    assert.deepEqual(
      r.rows
        .filter((x) => x.state === 'not started')
        .map((x) => x.row)
        .sort(),
      ['couchdb', 'formplayer', 'riakcs'],
    );
    const loaded = r.rows.filter((x) => x.state !== 'not started' && x.state !== 'idle');
    // the submissions' path: the proxy, the web hosts, PostgreSQL, Kafka, the pillows, Elasticsearch
    for (const row of ['nginx', 'django', 'pg_main', 'kafka', 'pillowtop', 'es_datanode'])
      assert.ok(
        loaded.some((x) => x.row === row),
        `${row} carries load`,
      );
    for (const x of loaded) {
      assert.ok(x.cpuPctMean !== undefined && x.cpuPctMean > 0, `${x.row}: CPU measured`);
      assert.ok(x.memPctMax !== undefined && x.memPctMax > 0, `${x.row}: memory measured`);
      assert.ok(x.cpuPctAtRate !== undefined, `${x.row}: at the rate reached`);
    }
  });
});
