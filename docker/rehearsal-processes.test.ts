import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { parseScale, planRehearsal } from './rehearsal-plan.ts';
import {
  hostCommand,
  hostComponents,
  hostEnv,
  networkAlias,
  proxyConf,
  proxyUpstream,
  rehearsalConfig,
  supervisorCommand,
} from './rehearsal-processes.ts';

const seed = loadTopology(new URL('../topology/examples/seed-multi-vm.yaml', import.meta.url).pathname);
const plan = planRehearsal(seed, parseScale('1/24'), defaultPorts);
const cfg = rehearsalConfig(defaultPorts);
const of = (host: string) => plan.containers.find((c) => c.host === host)!;

describe('rehearsal hosts from the shared container specs', () => {
  it('each host runs what the topology places there, reaching the infrastructure by its component name', () => {
    const web = hostComponents(of('web2'), cfg);
    assert.deepEqual(
      web.map((s) => s.component),
      ['web-1'],
    );
    const argv = hostCommand(web)!.join(' ');
    assert.match(argv, /hq\/web\.ts --host 0\.0\.0\.0 --port 8000 /);
    assert.match(argv, /--pg-url postgres:\/\/capacity:capacity@postgres:5432\/commcarehq/);
    assert.match(argv, /--kafka kafka:9092 --es http:\/\/elasticsearch:9200 /);
    assert.deepEqual(of('web2').ports, [{ service: 'django', containerPort: 8000, hostPort: 18001 }]);
    assert.deepEqual(
      hostComponents(of('pillow1'), cfg).map((s) => s.component),
      ['pillow-xform', 'pillow-case', 'pillow-ucr'],
    );
    assert.deepEqual(
      hostComponents(of('celery1'), cfg).map((s) => s.component),
      ['celery-1', 'celery-2'],
    );
    // several processes: one shell supervises them
    assert.equal(hostCommand(hostComponents(of('pillow1'), cfg))![0], '/bin/sh');
    const pg1 = hostComponents(of('pg1'), cfg);
    assert.deepEqual(
      pg1.map((s) => s.component),
      ['postgres'],
    );
    assert.equal(hostCommand(pg1), undefined, "the image's own command");
    assert.equal(networkAlias(of('pg1'), pg1), 'postgres');
    assert.equal(networkAlias(of('web2'), web), 'rehearsal-web2');
  });

  it("Kafka tells the host's clients its host's own address and published port", () => {
    const k = of('kafka1');
    const env = hostEnv(k, hostComponents(k, cfg));
    assert.equal(env.KAFKA_EXTERNAL, `${k.address}:19092`);
    assert.equal(env.KAFKA_INTERNAL, 'kafka:9092');
    assert.match(env.KAFKA_HEAP!, /-Xmx512m/);
  });

  it("the proxy's upstream is the three django hosts, in nginx's file on port 80", () => {
    assert.deepEqual(proxyUpstream(plan), ['rehearsal-web1', 'rehearsal-web2', 'rehearsal-web3']);
    const conf = proxyConf(plan);
    assert.match(conf, /listen 80;/);
    assert.match(conf, /least_conn;\n {4}server rehearsal-web1:8000 max_fails=0;\n {4}server rehearsal-web2:8000/);
  });

  it('a container of several processes stops when one of them exits', async () => {
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
