// The full stack in containers on a real Docker engine (docker/container-stack.ts), through the CLI as a person runs
// it: `stack up --containers` gives containers that publish on loopback only; a short steady run through
// `--target containers` passes and the audit finds nothing lost; a run in which the xform pillow's container and then
// Kafka's are killed (SIGKILL) and restarted loses no acknowledged form; `stack down --containers` removes exactly
// this stack's containers. Its own stack name and ports, so a stack someone left up is never touched. Without an
// engine, only the one-line refusal is checked (the rest is skipped, saying why).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../core/paths.ts';
import { PUBLISHED, portVariable, type ContainerPorts } from '../../docker/container-ports.ts';
import { BASE_IMAGE, buildImages, pruneOlder } from '../../docker/images.ts';
import {
  containerName,
  docker,
  engineAvailable,
  killContainer,
  listStack,
  removeStack,
  restartContainer,
  STACK_LABEL,
} from '../../docker/engine.ts';

const STACK = 'capacity-it';
const PORTS: ContainerPorts = {
  postgres: 34432,
  redis: 34379,
  kafka: 34092,
  elasticsearch: 34200,
  nginx: 34080,
  rabbitmq: 34672,
  rabbitmqManagement: 34673,
  web: 34001,
};
const env: NodeJS.ProcessEnv = { ...process.env, CAPACITY_CONTAINERS_STACK: STACK };
for (const n of PUBLISHED) env[portVariable(n)] = String(PORTS[n]);

const hasEngine = await engineAvailable();
const noEngine =
  !hasEngine && 'no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): scripts/bootstrap.sh --engine starts one as root';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function capacity(args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(path.join(repoRoot, 'capacity'), args, { env: opts.env ?? env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), opts.timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const resultsDir = (out: string) => /^results: (.+)$/m.exec(out)?.[1];

async function auditNothingLost(dir: string): Promise<string> {
  const res = await capacity(['audit', '--containers', '--results', dir, '--wait', '120s'], { timeoutMs: 240_000 });
  assert.equal(res.status, 0, res.stdout + res.stderr.slice(-2000));
  assert.match(res.stdout, /^audit: nothing lost$/m);
  assert.match(res.stdout, /^missing in PostgreSQL\s+0$/m);
  assert.match(res.stdout, /^missing in Elasticsearch xforms\s+0$/m);
  return res.stdout;
}

describe('the stack in containers', { timeout: 1_500_000 }, () => {
  it('without an engine: one line saying how to install and start it, exit 1, no results folder', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-docker-it-'));
    const noSocket = { ...env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
    for (const args of [
      ['run', 'steady', '--target', 'containers', '--rate', '1', '--duration', '5s', '--results', results],
      ['stack', 'up', '--containers'],
    ]) {
      const res = await capacity(args, { timeoutMs: 120_000, env: noSocket });
      assert.equal(res.status, 1, res.stdout + res.stderr);
      const lines = res.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `exactly one line on stderr: ${res.stderr}`);
      assert.match(lines[0]!, /^capacity: no Docker engine answers .*apt-get install docker\.io.*dockerd &.*bootstrap\.sh --engine/);
      assert.equal(res.stdout, '');
    }
    assert.deepEqual(fs.readdirSync(results), [], 'no results directory');
    fs.rmSync(results, { recursive: true, force: true });
  });

  describe('on the engine', { skip: noEngine }, () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-docker-it-'));
    before(async () => {
      await removeStack(STACK); // what an interrupted earlier run may have left
    });
    after(async () => {
      await removeStack(STACK).catch(() => undefined);
      fs.rmSync(results, { recursive: true, force: true });
    });

    it('a published port held by another process: one line naming it and its holder, nothing started', async () => {
      const holder = net.createServer();
      await new Promise<void>((r) => holder.listen(PORTS.nginx, '127.0.0.1', () => r()));
      try {
        const res = await capacity(['stack', 'up', '--containers'], { timeoutMs: 900_000 });
        assert.equal(res.status, 2, res.stderr);
        assert.match(
          res.stderr,
          new RegExp(`^capacity: containers: port ${PORTS.nginx} for nginx is already in use by node \\(pid ${process.pid}\\)`, 'm'),
        );
        assert.deepEqual(await listStack(STACK), [], 'no container left');
      } finally {
        holder.close();
      }
    });

    it('stack up --containers: every component healthy, every port published on 127.0.0.1 only', async () => {
      const t0 = Date.now();
      const res = await capacity(['stack', 'up', '--containers'], { timeoutMs: 900_000 });
      assert.equal(res.status, 0, res.stderr.slice(-3000));
      console.log(`stack up --containers: ${secs(t0)} s (${/up in ([\d.]+) s/.exec(res.stderr)?.[1] ?? '?'} s of it starting containers)`);
      const mine = await listStack(STACK);
      assert.equal(mine.length, 14, mine.map((c) => c.name).join(', '));
      assert.ok(
        mine.every((c) => c.state === 'running'),
        mine.map((c) => `${c.name} ${c.state}`).join(', '),
      );
      const bound: string[] = [];
      for (const c of mine) {
        const info = await docker().getContainer(c.id).inspect();
        for (const [inner, b] of Object.entries(info.NetworkSettings.Ports ?? {}))
          for (const x of b ?? []) {
            assert.equal(x.HostIp, '127.0.0.1', `${c.name} ${inner} on ${x.HostIp}`);
            bound.push(x.HostPort);
          }
      }
      assert.equal(bound.length, 10, `postgres, redis, kafka, elasticsearch, nginx, rabbitmq x2, web x3: ${bound.join(', ')}`);
      assert.match(res.stdout, /^nginx\s+capacity-it-nginx\s+running/m);
      const front = await fetch(`http://127.0.0.1:${PORTS.nginx}/healthz`);
      assert.equal(front.status, 200);
    });

    it('a 10 s steady run through --target containers passes, and the audit finds nothing lost', async () => {
      const t0 = Date.now();
      const res = await capacity(
        ['run', 'steady', '--target', 'containers', '--rate', '5', '--duration', '10s', '--users', '5', '--results', results],
        { timeoutMs: 600_000 },
      );
      assert.equal(res.status, 0, res.stdout.slice(-2000) + res.stderr.slice(-2000));
      assert.match(res.stdout, /PASSED/);
      assert.match(res.stdout, /against the stack in containers \(http:\/\/127\.0\.0\.1:34080\)/);
      const dir = resultsDir(res.stdout)!;
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { target: { kind: string } };
      assert.equal(manifest.target.kind, 'containers');
      const acks = fs.readFileSync(path.join(dir, 'acks.ndjson'), 'utf8').trim().split('\n').length;
      assert.ok(acks >= 40, `${acks} forms acknowledged`);
      console.log(`steady 10 s through --target containers: ${secs(t0)} s, ${acks} forms acknowledged`);
      await auditNothingLost(dir);
    });

    it('stack up again keeps every container; with another CAPACITY_HQ_DELAY_MS the web workers, and only they, are made again', async () => {
      const remade = (stderr: string) =>
        [...stderr.matchAll(/containers: (\S+) is made again \(([^)]*)\)/g)].map((m) => `${m[1]}: ${m[2]}`);
      const same = await capacity(['stack', 'up', '--containers'], { timeoutMs: 300_000 });
      assert.equal(same.status, 0, same.stderr.slice(-2000));
      assert.deepEqual(remade(same.stderr), []);
      const slower = await capacity(['stack', 'up', '--containers'], { timeoutMs: 300_000, env: { ...env, CAPACITY_HQ_DELAY_MS: '5' } });
      assert.equal(slower.status, 0, slower.stderr.slice(-2000));
      assert.deepEqual(remade(slower.stderr), ['web-1: command changed', 'web-2: command changed', 'web-3: command changed']);
      const cmd = (await docker().getContainer(containerName(STACK, 'web-2')).inspect()).Config.Cmd as string[];
      assert.equal(cmd[cmd.indexOf('--delay-ms') + 1], '5');
      // as the tests after this one expect it
      const back = await capacity(['stack', 'up', '--containers'], { timeoutMs: 300_000 });
      assert.equal(back.status, 0, back.stderr.slice(-2000));
      assert.equal(remade(back.stderr).length, 3, back.stderr);
    });

    it('the xform pillow killed at ~12 s and Kafka at ~29 s, each restarted ~5 s later: no acknowledged form lost', async () => {
      const root = fs.mkdtempSync(path.join(results, 'faults-'));
      const run = capacity(
        ['run', 'steady', '--target', 'containers', '--rate', '5', '--duration', '45s', '--users', '5', '--results', root],
        { timeoutMs: 600_000 },
      );
      // the load has begun once the first acknowledgement is written
      const acksFile = () => fs.readdirSync(root).map((d) => path.join(root, d, 'acks.ndjson'))[0];
      const waitStart = Date.now();
      for (;;) {
        const f = acksFile();
        if (f && fs.existsSync(f) && fs.statSync(f).size > 0) break;
        assert.ok(Date.now() - waitStart < 300_000, 'the run never acknowledged a form');
        await sleep(200);
      }
      const t0 = Date.now();
      const at = async (s: number, what: string, fn: () => Promise<void>) => {
        await sleep(Math.max(0, t0 + s * 1000 - Date.now()));
        await fn();
        console.log(`  ${secs(t0)} s: ${what}`);
      };
      const pillow = containerName(STACK, 'pillow-xform');
      const kafka = containerName(STACK, 'kafka');
      await at(12, `killed ${pillow}`, () => killContainer(pillow));
      await at(17, `restarted ${pillow}`, () => restartContainer(pillow));
      await at(29, `killed ${kafka}`, () => killContainer(kafka));
      await at(34, `restarted ${kafka}`, () => restartContainer(kafka));
      const res = await run;
      const dir = resultsDir(res.stdout);
      assert.ok(dir, res.stdout.slice(-2000) + res.stderr.slice(-2000));
      const acks = fs.readFileSync(path.join(dir, 'acks.ndjson'), 'utf8').trim().split('\n').length;
      assert.ok(acks >= 150, `${acks} forms acknowledged`);
      console.log(`fault run: exit ${res.status}, ${acks} forms acknowledged; ${/^\s+receiver .*$/m.exec(res.stdout)?.[0]?.trim() ?? ''}`);
      const t1 = Date.now();
      const report = await auditNothingLost(dir);
      console.log(`audit after the faults: ${secs(t1)} s; ${/^acknowledged forms\s+(\d+)$/m.exec(report)?.[1]} acknowledged, none lost`);
    });

    it("an image's earlier builds are removed once another is built, but not one a container uses", async () => {
      const client = docker();
      const current = (await buildImages({ log: () => undefined, only: ['redis'] }, client)).tags.redis;
      // an earlier build under another tag of the same image, and one of its own that a container still uses
      await client.getImage(current).tag({ repo: 'capacity/redis', tag: 'it-earlier' });
      const source = await client.createContainer({ Image: current, Cmd: ['true'] });
      await source.commit({ repo: 'capacity/redis', tag: 'it-in-use' });
      const user = await client.createContainer({ Image: 'capacity/redis:it-in-use', Cmd: ['true'] });
      try {
        const removed = await pruneOlder(client, 'redis', current);
        assert.ok(removed.includes('capacity/redis:it-earlier'), removed.join(', '));
        assert.ok(!removed.includes('capacity/redis:it-in-use'), removed.join(', '));
        const tags = (await client.listImages({ filters: { label: ['capacity.image=redis'] } })).flatMap((i) => i.RepoTags ?? []);
        assert.ok(tags.includes(current) && tags.includes('capacity/redis:it-in-use'), tags.join(', '));
        assert.ok(!tags.includes('capacity/redis:it-earlier'), tags.join(', '));
      } finally {
        await user.remove({ force: true });
        await source.remove({ force: true });
        await client
          .getImage('capacity/redis:it-in-use')
          .remove()
          .catch(() => undefined);
      }
    });

    it('stack down --containers removes exactly this stack: another stack with the same label key stays', async () => {
      const other = `${STACK}-other`;
      const decoy = await docker().createContainer({
        name: containerName(other, 'decoy'),
        Image: BASE_IMAGE,
        Cmd: ['sleep', '300'],
        Labels: { [STACK_LABEL]: other },
      });
      try {
        await decoy.start();
        const res = await capacity(['stack', 'down', '--containers'], { timeoutMs: 120_000 });
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stdout, /^removed: /);
        assert.equal(res.stdout.split(', ').length, 14, res.stdout);
        assert.deepEqual(await listStack(STACK), []);
        assert.equal((await docker().listNetworks({ filters: { label: [`${STACK_LABEL}=${STACK}`] } })).length, 0, 'network removed');
        assert.equal((await decoy.inspect()).State.Running, true, "the other stack's container is untouched");
        const status = await capacity(['stack', 'status', '--containers'], { timeoutMs: 60_000 });
        assert.equal(status.status, 1);
        assert.match(status.stdout, /has no containers/);
      } finally {
        await decoy.remove({ force: true });
      }
    });
  });
});
