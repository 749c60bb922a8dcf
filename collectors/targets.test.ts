import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { buildCollectors, localTargets, targetsFromTopology } from './targets.ts';

const example = (name: string) => new URL(`../topology/examples/${name}`, import.meta.url).pathname;

describe('collector targets', () => {
  it('local stack: every source on loopback, host figures from /proc', () => {
    const t = localTargets({ config: defaultConfig() });
    assert.equal(t.postgres![0]!.url, 'postgres://capacity:capacity@127.0.0.1:15432/commcarehq');
    assert.deepEqual(t.pillows![0]!.kafkaBrokers, ['127.0.0.1:19092']);
    assert.equal(t.elasticsearch![0]!.url, 'http://127.0.0.1:19200');
    assert.equal(t.nginx![0]!.statusUrl, 'http://127.0.0.1:18080/nginx_status');
    assert.equal(t.rabbitmq![0]!.url, 'http://guest:guest@127.0.0.1:16673/');
    assert.deepEqual(t.hosts, [{ host: 'localhost' }]);
    const names = buildCollectors(t).map((c) => c.name);
    assert.deepEqual(names.sort(), [
      'elasticsearch@localhost',
      'host@localhost',
      'kafka@localhost',
      'local_store@localhost',
      'nginx@localhost',
      'pillows@localhost',
      'postgres@localhost',
      'process@localhost',
      'rabbitmq@localhost',
      'redis@localhost',
    ]);
  });

  it('the seed topology: a node_exporter per VM, each service on its host', () => {
    const t = targetsFromTopology(loadTopology(example('seed-multi-vm.yaml')), { postgres: { user: 'mon', password: 'pw' } });
    assert.equal(t.hosts!.length, 14);
    assert.ok(t.hosts!.every((h) => h.nodeExporterUrl?.endsWith(':9100/metrics')));
    assert.equal(t.postgres!.length, 1);
    assert.match(t.postgres![0]!.url, /^postgres:\/\/mon:pw@192\.0\.2\.\d+:5432\/commcarehq$/);
    assert.equal(t.pillows![0]!.postgresUrl, t.postgres![0]!.url);
    assert.deepEqual(t.pillows![0]!.kafkaBrokers, t.kafka![0]!.brokers);
    assert.match(t.rabbitmq![0]!.url, /^http:\/\/guest:guest@192\.0\.2\.\d+:15672\/$/);
    assert.equal(t.elasticsearch!.length, 1);
    assert.equal(t.elasticsearch![0]!.hostNames![t.elasticsearch![0]!.url.replace(/^http:\/\/|:9200\/$/g, '')], t.elasticsearch![0]!.host);
    assert.match(t.nginx![0]!.statusUrl, /\/nginx_status$/);
    const names = new Set(buildCollectors(t).map((c) => c.name));
    assert.equal(names.size, buildCollectors(t).length, 'collector names are unique');
  });

  it('a host played by a container is read from the Docker engine, not node_exporter or /proc', () => {
    const topo = loadTopology(example('seed-multi-vm.yaml'));
    topo.hosts = topo.hosts.map((h, i) => ({
      ...h,
      address: `127.0.1.${i + 2}`,
      nodeExporter: undefined,
      container: `rehearsal-${h.name}`,
    }));
    const t = targetsFromTopology(topo);
    assert.equal(t.hosts!.length, 14);
    assert.deepEqual(t.hosts![0], { host: 'celery1', container: 'rehearsal-celery1' });
    assert.equal(t.processes, undefined, 'loopback containers are not the local stack');
    const hostCollectors = buildCollectors({ hosts: t.hosts }).map((c) => c.name);
    assert.equal(hostCollectors.length, 14);
    assert.ok(hostCollectors.includes('host@pg1'));
  });

  it('the local topology file: loopback host without node_exporter is read from /proc', () => {
    const t = targetsFromTopology(loadTopology(example('local.yaml')));
    assert.deepEqual(t.hosts, [{ host: 'localhost' }]);
    assert.equal(new URL(t.postgres![0]!.url).port, '15432');
    assert.deepEqual(t.kafka![0]!.brokers, ['127.0.0.1:19092']);
    assert.equal(t.nginx![0]!.statusUrl, 'http://127.0.0.1:18080/nginx_status');
  });

  it('the local topology file with the local stack running: its processes and Kafka log dir too', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-home-'));
    const local = { run: path.join(home, 'run'), data: path.join(home, 'data') };
    fs.mkdirSync(local.run);
    const none = targetsFromTopology(loadTopology(example('local.yaml')), { localStack: local });
    assert.equal(none.processes, undefined, 'no pid files: no process collector');
    fs.writeFileSync(path.join(local.run, 'web-1.pid.json'), '{"pid":1,"name":"web-1"}');
    fs.mkdirSync(path.join(local.data, 'kafka'), { recursive: true });
    const t = targetsFromTopology(loadTopology(example('local.yaml')), { localStack: local });
    assert.deepEqual(t.processes, [{ runDir: local.run, host: 'localhost' }]);
    assert.deepEqual(t.localStores, [{ host: 'localhost', kafkaLogDir: path.join(local.data, 'kafka') }]);
    // the seed's VMs are not this machine
    assert.equal(targetsFromTopology(loadTopology(example('seed-multi-vm.yaml')), { localStack: local }).processes, undefined);
  });
});
