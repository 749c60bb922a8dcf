import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { defaultPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { readYamlTopology } from '../topology/yaml-topology.ts';
import { expectUserError } from '../test/support/user-error.ts';
import { formatPlan, parseScale, planRehearsal, rehearsalTopology } from './rehearsal-plan.ts';

const seed = loadTopology(new URL('../topology/examples/seed-multi-vm.yaml', import.meta.url).pathname);
const pg = { user: 'capacity', password: 'capacity', database: 'commcarehq' };

describe('rehearsal plan', () => {
  it('parses a scale as a fraction or a decimal, and refuses what is not a share', () => {
    assert.equal(parseScale('1/24').value, 1 / 24);
    assert.equal(parseScale('0.25').value, 0.25);
    assert.equal(parseScale('1').value, 1);
    for (const bad of ['0', '2', '1/0', 'abc', '-1/4', ''])
      expectUserError(() => parseScale(bad), /--scale .*a share above 0 and at most 1/);
  });

  it('the seed at 1/24: one container per host the stand-in can play, limits from the row with stated minima', () => {
    const plan = planRehearsal(seed, parseScale('1/24'), defaultPorts);
    assert.deepEqual(
      plan.containers.map((c) => c.host),
      ['celery1', 'web1', 'web2', 'web3', 'es1', 'kafka1', 'proxy1', 'pg1', 'pillow1', 'rabbit1', 'redis1'],
    );
    assert.deepEqual(
      plan.notStarted.map((s) => [s.host, s.reason]),
      [
        ['couch1', 'the stand-in has no couchdb'],
        ['formplayer1', 'the stand-in has no formplayer'],
        ['riakcs1', 'the stand-in has no object_storage'],
      ],
    );
    const by = Object.fromEntries(plan.containers.map((c) => [c.host, c]));
    // pillowtop: 8 cores, 32 GB / 24 -> 0.33 cores, 1365 MB: no minimum applies
    assert.equal(by.pillow1!.cpus, 0.33);
    assert.equal(by.pillow1!.memMb, 1365);
    assert.match(by.pillow1!.why, /8 cores, 32 GB x 1\/24/);
    // es_datanode: 2 cores, 16 GB / 24 -> 0.08 cores, 683 MB: raised to 0.5 cores and heap + 512 MB
    assert.equal(by.es1!.cpus, 0.5);
    assert.equal(by.es1!.memMb, 1024);
    assert.match(by.es1!.why, /CPU raised to 0.5, memory raised to 1024 MB: elasticsearch needs JVM heap 512 MB/);
    // kafka: 2 cores, 4 GB -> 0.08, 171 MB: raised to 0.5 and 768 MB
    assert.deepEqual([by.kafka1!.cpus, by.kafka1!.memMb], [0.5, 768]);
    // pg_main: 2 cores, 8 GB -> 0.08 cores, 341 MB: memory raised to 384 MB, CPU to the 0.1 floor
    assert.deepEqual([by.pg1!.cpus, by.pg1!.memMb], [0.1, 384]);
    // django: 4 cores, 8 GB -> 0.17 cores, 341 MB: as asked
    assert.deepEqual([by.web1!.cpus, by.web1!.memMb], [0.17, 341]);
    // each host on its own loopback address, ports published there
    assert.equal(new Set(plan.containers.map((c) => c.address)).size, plan.containers.length);
    assert.ok(plan.containers.every((c) => /^127\.0\.1\.\d+$/.test(c.address)));
    // the image's own port inside, the stack's port on the host's address
    assert.deepEqual(by.pg1!.ports, [{ service: 'postgresql', containerPort: 5432, hostPort: 15432 }]);
    assert.deepEqual(by.kafka1!.ports, [{ service: 'kafka', containerPort: 9094, hostPort: 19092 }]);
    assert.deepEqual([by.pg1!.image, by.web1!.image, by.pillow1!.image, by.proxy1!.image], ['postgres', 'hq', 'hq', 'nginx']);
    assert.equal(plan.entry!.url, `http://${by.proxy1!.address}:18080`);
    assert.equal(by.web2!.container, 'rehearsal-web2');
    const table = formatPlan(plan);
    assert.match(table, /es1 +es_datanode +127\.0\.1\.\d+ +0\.083 \/ 683 MB +0\.5 +1024 MB {2}CPU raised/);
    assert.match(table, /couch1 +couchdb +not started: the stand-in has no couchdb/);
  });

  it("several of the service's processes on one VM need the sum of their minima; two images on one VM are refused", () => {
    const t = readYamlTopology(
      [
        'rows: [{ name: all, cores: 2, ram_gb: 2, storage_gb: 10, vms: 1 }, { name: small, cores: 1, ram_gb: 0.5, storage_gb: 10, vms: 1 }]',
        'hosts:',
        '  - { name: app, row: small, services: [django, pillowtop, celery] }',
        '  - { name: pg, row: all, services: [postgresql] }',
        '  - { name: kafka, row: all, services: [kafka] }',
        '  - { name: es, row: all, services: [elasticsearch] }',
        '  - { name: proxy, row: all, services: [nginx] }',
      ].join('\n'),
      'one.yaml',
    );
    const app = planRehearsal(t, parseScale('1/2'), defaultPorts).containers.find((c) => c.host === 'app')!;
    assert.equal(app.cpus, 0.5, 'asked 0.5 cores is above every minimum');
    assert.equal(app.memMb, 224 + 512 + 896, 'asked 256 MB is under the sum of minima');
    assert.equal(app.image, 'hq');
    const mixed = readYamlTopology(
      'rows: [{ name: all, cores: 2, ram_gb: 2, storage_gb: 10, vms: 1 }]\nhosts:\n  - { name: box, row: all, services: [postgresql, kafka] }\n',
      'mixed.yaml',
    );
    expectUserError(
      () => planRehearsal(mixed, parseScale('1/2'), defaultPorts),
      /mixed\.yaml: host "box" runs postgresql and kafka, which a rehearsal plays with different images \(postgres, kafka\)/,
    );
  });

  it('refuses a topology the stand-in cannot play', () => {
    const t = readYamlTopology(
      'rows: [{ name: db, cores: 2, ram_gb: 8, storage_gb: 10, vms: 1 }]\nhosts:\n  - { name: pg1, row: db, services: [postgresql] }\n',
      'db.yaml',
    );
    expectUserError(() => planRehearsal(t, parseScale('1/4'), defaultPorts), /db\.yaml: no host runs kafka/);
    const noRow = readYamlTopology('hosts:\n  - { name: pg1, services: [postgresql] }\n', 'n.yaml');
    expectUserError(() => planRehearsal(noRow, parseScale('1/4'), defaultPorts), /host "pg1" names no VM row/);
  });

  it('writes the topology the run uses: addresses, published ports, containers, the proxy as target', () => {
    const plan = planRehearsal(seed, parseScale('1/24'), defaultPorts);
    const doc = parse(rehearsalTopology(seed, plan, pg));
    assert.equal(doc.target.base_url, plan.entry!.url);
    assert.equal(doc.rows.length, 12, 'every row, so rows not started are named in the report');
    const pg1 = doc.hosts.find((h: { name: string }) => h.name === 'pg1');
    assert.equal(pg1.container, 'rehearsal-pg1');
    assert.match(pg1.services[0].url, /^postgresql:\/\/capacity:capacity@127\.0\.1\.\d+:15432\/commcarehq$/);
    const round = readYamlTopology(rehearsalTopology(seed, plan, pg), 'r.yaml');
    assert.equal(round.hosts.length, 11);
    assert.ok(round.hosts.every((h) => h.container && !h.nodeExporter));
    assert.equal(
      round.hosts.find((h) => h.name === 'rabbit1')!.services[0]!.endpoints[0]!.url,
      `http://${plan.containers.find((c) => c.host === 'rabbit1')!.address}:16673/`,
    );
  });
});
