import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { parseScale, planRehearsal } from './rehearsal-plan.ts';
import { proxyConf, proxyUpstream, serviceProcesses, supervisorCommand } from './rehearsal-processes.ts';

const seed = loadTopology(new URL('../topology/examples/seed-multi-vm.yaml', import.meta.url).pathname);
const plan = planRehearsal(seed, parseScale('1/24'), defaultPorts);
const pg = { user: 'capacity', password: 'capacity', database: 'commcarehq' };
const of = (host: string) => plan.containers.find((c) => c.host === host)!;

describe('rehearsal service processes', () => {
  it('each host runs what the topology places there, reaching the others by container name', () => {
    const web = serviceProcesses(of('web2'), plan, defaultPorts, pg);
    assert.deepEqual(
      web.map((p) => p.name),
      ['web'],
    );
    const argv = web[0]!.argv.join(' ');
    assert.match(argv, /hq\/web\.ts --host 0\.0\.0\.0 --port 18001 /);
    assert.match(argv, /--pg-url postgres:\/\/capacity:capacity@rehearsal-pg1:5432\/commcarehq/);
    assert.match(argv, /--kafka rehearsal-kafka1:9092 --es http:\/\/rehearsal-es1:9200 /);
    assert.match(argv, /--redis redis:\/\/rehearsal-redis1:6379 --amqp amqp:\/\/guest:guest@rehearsal-rabbit1:5672/);
    assert.deepEqual(
      serviceProcesses(of('pillow1'), plan, defaultPorts, pg).map((p) => p.name),
      ['pillow-xform', 'pillow-case', 'pillow-ucr'],
    );
    assert.deepEqual(
      serviceProcesses(of('celery1'), plan, defaultPorts, pg, { celeryWorkers: 3 }).map((p) => p.name),
      ['celery-1', 'celery-2', 'celery-3'],
    );
    assert.deepEqual(serviceProcesses(of('pg1'), plan, defaultPorts, pg), [], 'infrastructure only');
  });

  it("the proxy's upstream is the three django hosts", () => {
    assert.deepEqual(proxyUpstream(plan, defaultPorts), ['rehearsal-web1:18001', 'rehearsal-web2:18001', 'rehearsal-web3:18001']);
  });

  it("nginx's file listens on the image's port 80 with the upstream of the web hosts", () => {
    const conf = proxyConf(plan, defaultPorts);
    assert.match(conf, /listen 80;/);
    assert.match(conf, /least_conn;\n {4}server rehearsal-web1:18001 max_fails=0;\n {4}server rehearsal-web2:18001/);
    assert.match(conf, /location = \/nginx_status \{ stub_status; \}/);
  });

  it('a container of the service stops when one of its processes exits', async () => {
    const { spawnSync } = await import('node:child_process');
    const cmd = supervisorCommand([
      { name: 'long', argv: ['sleep', '30'] },
      { name: "short's", argv: ['sh', '-c', 'sleep 0.2; exit 3'] },
    ]);
    const res = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 10_000 });
    assert.equal(res.status, 1, 'exit 1 as soon as one exits, not after the 30 s sleep (the timeout would give null)');
    assert.match(res.stderr, /started long \(pid \d+\)/);
    assert.match(res.stderr, /started short's/);
    assert.match(res.stderr, /exited: stopping the container/);
  });
});
