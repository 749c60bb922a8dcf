import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandHostPattern, gunicornWorkers, parseInventory } from './inventory.ts';
import { loadTopology, detectFormat } from './load.ts';
import { endpointsFor, nodeExporters, SERVICE_KINDS, serviceKindForName, totals } from './model.ts';
import { readYamlTopology } from './yaml-topology.ts';
import { expectUserError } from '../test/support/user-error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const examples = path.join(here, 'examples');
const fixtures = path.join(here, 'fixtures');

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'capacity-topology-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));
function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

describe('YAML examples', () => {
  it('seed-multi-vm.yaml mirrors the seed: 12 rows, 14 VMs, one host per VM', () => {
    const t = loadTopology(path.join(examples, 'seed-multi-vm.yaml'));
    assert.equal(t.source.format, 'yaml');
    assert.equal(t.rows.length, 12);
    assert.equal(totals(t.rows).vms, 14);
    assert.equal(t.hosts.length, 14);
    assert.deepEqual(t.warnings, []);
    for (const r of t.rows) assert.equal(t.hosts.filter((h) => h.row === r.name).length, r.vmCount, r.name);
    const redis = t.rows.find((r) => r.name === 'redis')!;
    assert.deepEqual([redis.coresPerVm, redis.ramGbPerVm, redis.storageGbPerVm, redis.vmCount], [1, 8, 0.076, 1]);
    // Every service of the seed guide is present, and every host has a node_exporter on 9100.
    const kinds = new Set(t.hosts.flatMap((h) => h.services.map((s) => s.kind)));
    for (const k of SERVICE_KINDS) {
      assert.ok(kinds.has(k as never), k);
    }
    assert.equal(nodeExporters(t).length, 14);
    assert.ok(nodeExporters(t).every((n) => n.endpoint.port === 9100 && n.endpoint.url?.endsWith(':9100/metrics')));
    assert.deepEqual(
      endpointsFor(t, 'django').map((e) => e.url),
      ['http://192.0.2.13:9010/', 'http://192.0.2.14:9010/', 'http://192.0.2.15:9010/'],
    );
    assert.equal(endpointsFor(t, 'object_storage')[0]!.port, 8080);
    assert.equal(t.target?.baseUrl, 'http://192.0.2.19');
    assert.equal(endpointsFor(t, 'nginx')[0]!.url, 'http://192.0.2.19/');
  });

  it('local.yaml is the local stack on loopback ports', () => {
    const t = loadTopology(path.join(examples, 'local.yaml'));
    assert.equal(t.hosts.length, 1);
    const host = t.hosts[0]!;
    assert.equal(host.address, '127.0.0.1');
    assert.equal(host.nodeExporter, undefined);
    const port = (k: Parameters<typeof endpointsFor>[1]) => endpointsFor(t, k).map((e) => e.port);
    assert.deepEqual(port('postgresql'), [15432]);
    assert.deepEqual(port('kafka'), [19092]);
    assert.deepEqual(port('elasticsearch'), [19200]);
    assert.deepEqual(port('nginx'), [18080]);
    assert.deepEqual(port('redis'), [16379]);
    assert.deepEqual(port('django'), [18001, 18002, 18003]);
    assert.equal(endpointsFor(t, 'redis')[0]!.url, 'redis://127.0.0.1:16379');
    assert.equal(endpointsFor(t, 'kafka')[0]!.url, undefined);
    assert.equal(t.target?.baseUrl, 'http://127.0.0.1:18080');
  });

  it('node_exporter accepts true, a port, host:port and a URL', () => {
    const t = readYamlTopology(
      [
        'hosts:',
        '  - { name: a, address: 127.0.0.2, node_exporter: true }',
        '  - { name: b, address: 127.0.0.3, node_exporter: 19100 }',
        '  - { name: c, address: 127.0.0.4, node_exporter: "127.0.0.9:9101" }',
        '  - { name: d, address: 127.0.0.5, node_exporter: "http://[::1]:9102/metrics" }',
        '  - { name: e, address: 127.0.0.6 }',
      ].join('\n'),
      't.yaml',
    );
    assert.deepEqual(
      t.hosts.map((h) => h.nodeExporter && [h.nodeExporter.host, h.nodeExporter.port, h.nodeExporter.url]),
      [
        ['127.0.0.2', 9100, 'http://127.0.0.2:9100/metrics'],
        ['127.0.0.3', 19100, 'http://127.0.0.3:19100/metrics'],
        ['127.0.0.9', 9101, 'http://127.0.0.9:9101/metrics'],
        ['::1', 9102, 'http://[::1]:9102/metrics'],
        undefined,
      ],
    );
  });

  it('a host played by a container names it, and gets no node_exporter by default', () => {
    const t = readYamlTopology(
      [
        'defaults: { node_exporter_port: 9100 }',
        'hosts:',
        '  - { name: pg1, address: 127.0.1.3, container: rehearsal-pg1, services: [postgresql] }',
        '  - { name: vm1, address: 192.0.2.30 }',
      ].join('\n'),
      't.yaml',
    );
    assert.equal(t.hosts[0]!.container, 'rehearsal-pg1');
    assert.equal(t.hosts[0]!.nodeExporter, undefined);
    assert.equal(t.hosts[1]!.container, undefined);
    assert.equal(t.hosts[1]!.nodeExporter?.port, 9100);
  });

  it('warns when hosts and VM counts disagree', () => {
    const t = readYamlTopology(
      'rows:\n  - { name: web, cores: 4, ram_gb: 8, storage_gb: 50, vms: 2 }\nhosts:\n  - { name: w1, row: web }\n',
      'w.yaml',
    );
    assert.deepEqual(t.warnings, ['row "web" has 2 VMs but 1 host name it']);
    assert.equal(t.hosts[0]!.address, 'w1');
  });
});

describe('bad YAML topologies give one-line errors with file and line', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['missing field', 'rows:\n  - name: web\n    cores: 4\n    storage_gb: 10\n    vms: 1\n', /^bad\.yaml:2: rows\[0\]: missing "ram_gb"$/],
    [
      'non-numeric figure',
      'rows:\n  - { name: web, cores: four, ram_gb: 8, storage_gb: 1, vms: 1 }\n',
      /^bad\.yaml:2: rows\[0\]\.cores: "cores" must be a number, found "four"$/,
    ],
    [
      'unknown service',
      'hosts:\n  - name: a\n    services: [postgres]\n',
      /^bad\.yaml:3: hosts\[0\]\.services\[0\]\.kind: unknown service kind "postgres" \(known: postgresql, /,
    ],
    [
      'typo in a key',
      'rows:\n  - { name: web, cores: 4, ram_gbs: 8, storage_gb: 1, vms: 1 }\n',
      /^bad\.yaml:2: rows\[0\]\.ram_gbs: unknown field "ram_gbs"/,
    ],
    [
      'row not defined',
      'rows:\n  - { name: web, cores: 4, ram_gb: 8, storage_gb: 1, vms: 1 }\nhosts:\n  - { name: a, row: db }\n',
      /^bad\.yaml:4: hosts\[0\]\.row: row "db" is not one of the rows \(web\)$/,
    ],
    ['empty document', '# nothing\n', /^bad\.yaml: expected a mapping with "rows" and\/or "hosts", found nothing$/],
    ['neither rows nor hosts', 'name: x\n', /^bad\.yaml:1: a topology needs "rows"/],
    ['broken YAML', 'rows: [\n  - a\n', /^bad\.yaml:\d+: not valid YAML: /],
    [
      'fractional VM count',
      'rows:\n  - { name: w, cores: 1, ram_gb: 1, storage_gb: 1, vms: 1.5 }\n',
      /^bad\.yaml:2: rows\[0\]\.vms: "vms" must be a whole number, found 1\.5$/,
    ],
    [
      'bad port',
      'hosts:\n  - name: a\n    services:\n      - { kind: redis, port: 70000 }\n',
      /^bad\.yaml:4: hosts\[0\]\.services\[0\]\.port: port 70000 is above 65535$/,
    ],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      const file = write('bad.yaml', text);
      expectUserError(
        () => loadTopology(file),
        new RegExp(re.source.replace('^bad\\.yaml', `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`)),
      );
    });
  }

  it('a sizing config is pointed at capacity plan', () => {
    const file = write('sizing.yml', 'usage: {}\nservices: {}\n');
    expectUserError(() => loadTopology(file), /this is a sizing config \(usage \+ services\); run "capacity plan /);
  });
});

describe('commcare-cloud inventory', () => {
  it('reads the fixture environment with app-processes.yml', () => {
    const t = loadTopology(path.join(fixtures, 'env-small'));
    assert.equal(t.source.format, 'inventory');
    assert.deepEqual(
      t.hosts.map((h) => [h.name, h.address]),
      [
        ['proxy1-small', '192.0.2.10'],
        ['web1-small', '192.0.2.11'],
        ['web2-small', '192.0.2.12'],
        ['db1-small', '192.0.2.20'],
        ['es1-small', '192.0.2.3'],
        ['es2-small', '192.0.2.3'],
        ['celery1-small', '192.0.2.40'],
        ['control-small', '192.0.2.5'],
      ],
    );
    const byName = new Map(t.hosts.map((h) => [h.name, h]));
    const kinds = (n: string) => byName.get(n)!.services.map((s) => `${s.kind}:${s.name}`);
    assert.deepEqual(kinds('web1-small'), ['django:webworkers', 'formplayer:formplayer']);
    assert.deepEqual(kinds('db1-small'), [
      'postgresql:postgresql',
      'postgresql:pgbouncer',
      'couchdb:couchdb2',
      'kafka:kafka',
      'rabbitmq:rabbitmq',
      'redis:redis',
      'object_storage:riakcs',
    ]);
    assert.deepEqual(kinds('control-small'), []);
    assert.deepEqual(byName.get('web2-small')!.groups, ['web2', 'webworkers', 'django_manage']);
    // group vars reach hosts through children; host vars win; quotes are removed; comments dropped
    assert.equal(byName.get('celery1-small')!.vars!.swap_size, '2G');
    assert.equal(byName.get('db1-small')!.vars!.ansible_python_interpreter, '/usr/bin/python3');
    assert.equal(byName.get('es1-small')!.vars!.elasticsearch_node_name, 'es node');
    assert.equal(byName.get('web2-small')!.vars!.ufw_private_interface, 'ens5');
    assert.equal(
      endpointsFor(t, 'postgresql')
        .map((e) => e.port)
        .join(','),
      '5432,6432',
    );
    assert.equal(endpointsFor(t, 'django').length, 2);
    // app-processes.yml
    const celery = byName.get('celery1-small')!.services.find((s) => s.kind === 'celery')!;
    assert.deepEqual(celery.processes, [
      { name: 'celery,export_download_queue', count: 1, concurrency: 2 },
      { name: 'repeat_record_queue', count: 2, concurrency: 10, pooling: 'gevent' },
      { name: 'beat', count: 1 },
      { name: 'flower', count: 1 },
    ]);
    const pillows = byName.get('celery1-small')!.services.find((s) => s.kind === 'pillowtop')!;
    assert.deepEqual(
      pillows.processes!.map((p) => [p.name, p.count]),
      [
        ['CaseToElasticsearchPillow', 2],
        ['XFormToElasticsearchPillow', 1],
        ['kafka-ucr-static', 1],
      ],
    );
    assert.deepEqual(t.appSettings, { gunicornWorkersFactor: 2, gunicornWorkersStaticFactor: 1 });
    assert.equal(gunicornWorkers(4, t.appSettings), 9);
    assert.equal(gunicornWorkers(4), 4);
    assert.equal(t.warnings.length, 2);
    assert.match(t.warnings[0]!, /"None" run on no host: repeat_record_queue/);
    assert.match(t.warnings[1]!, /names host "ghost9", which is not in the inventory/);
  });

  it('gives every host a node_exporter when asked', () => {
    const t = loadTopology(path.join(fixtures, 'env-small', 'inventory.ini'), { nodeExporterPort: 9100 });
    assert.equal(nodeExporters(t).length, t.hosts.length);
    assert.equal(t.hosts[0]!.nodeExporter!.url, 'http://192.0.2.10:9100/metrics');
  });

  it('a <group>_port variable moves a service off its default port; [all:vars] reach every host', () => {
    const t = loadTopology(
      write(
        'ports/inventory.ini',
        '[postgresql]\n127.0.1.6 postgresql_port=63432\n[kafka]\n127.0.1.6\n[kafka:vars]\nkafka_port=63092\n' +
          '[all:vars]\nnode_exporter_port=63100\n',
      ),
    );
    const ports = Object.fromEntries(t.hosts[0]!.services.map((s) => [s.kind, s.endpoints[0]!.port]));
    assert.deepEqual(ports, { postgresql: 63432, kafka: 63092 });
    assert.equal(t.hosts[0]!.nodeExporter?.url, 'http://127.0.1.6:63100/metrics', '[all:vars] reach every host');
    expectUserError(
      () => loadTopology(write('badport/inventory.ini', '[redis]\nh1 redis_port=six\n')),
      /host "h1": redis_port "six" is not a port/,
    );
  });

  it('expands host ranges', () => {
    assert.deepEqual(expandHostPattern('web[01:03].example.org'), ['web01.example.org', 'web02.example.org', 'web03.example.org']);
    assert.deepEqual(expandHostPattern('db[a:c]'), ['dba', 'dbb', 'dbc']);
    assert.deepEqual(expandHostPattern('n[1:6:2]'), ['n1', 'n3', 'n5']);
  });

  it('refuses a host range too large to be real, at once and in one line (issue 14: [1:999999999] crashed)', () => {
    const t = Date.now();
    expectUserError(
      () => parseInventory('[web]\n10.0.0.[1:999999999]\n', 'inv.ini'),
      /^inv\.ini:2: host range "10\.0\.0\.\[1:999999999\]" gives more than 10000 hosts$/,
    );
    expectUserError(() => parseInventory('[web]\nh[1:200][1:200]\n', 'inv.ini'), /^inv\.ini:2: host range .* gives more than 10000 hosts$/);
    const lines = Array.from({ length: 3 }, (_, i) => `g${i}-[1:5000]`).join('\n');
    expectUserError(() => parseInventory(`[web]\n${lines}\n`, 'inv.ini'), /^inv\.ini:4: the inventory lists more than 10000 hosts$/);
    assert.ok(Date.now() - t < 2000);
    assert.equal(parseInventory('[web]\nh[1:10000]\n', 'inv.ini').hostOrder.length, 10000);
  });

  it('errors on bad inventories', () => {
    expectUserError(() => parseInventory('[web\n1.2.3.4\n', 'inv.ini'), /^inv\.ini:1: bad section header "\[web"/);
    expectUserError(
      () => parseInventory('[web]\n1.2.3.4 novalue\n', 'inv.ini'),
      /^inv\.ini:2: expected key=value after host "1\.2\.3\.4", found "novalue"$/,
    );
    expectUserError(
      () => parseInventory('[all:children]\nnowhere\n', 'inv.ini'),
      /^inv\.ini:1: \[all:children\] names "nowhere", which is not a group/,
    );
    expectUserError(() => parseInventory('[web:vars]\njust words\n', 'inv.ini'), /^inv\.ini:2: expected key=value in \[web:vars\]/);
    expectUserError(() => parseInventory("[web]\nh1 a='x\n", 'inv.ini'), /^inv\.ini:2: unclosed ' quote$/);
    const empty = write('empty/inventory.ini', '# no hosts\n[webworkers]\n');
    expectUserError(() => loadTopology(empty), /inventory\.ini: inventory lists no hosts$/);
  });
});

describe('format detection and file errors', () => {
  it('detects by extension and content', () => {
    assert.equal(detectFormat('x.yaml', ''), 'yaml');
    assert.equal(detectFormat('x.ini', ''), 'inventory');
    assert.equal(detectFormat('inventory', ''), 'inventory');
    assert.equal(detectFormat('x.csv', ''), 'csv');
    assert.equal(detectFormat('x.md', ''), 'markdown');
    assert.equal(detectFormat('x.txt', '+---+\n| a |\n+---+\n'), 'grid');
    assert.equal(detectFormat('x.txt', '| a | b |\n|---|---|\n'), 'markdown');
    assert.equal(detectFormat('x.txt', '[webworkers]\n1.2.3.4\n'), 'inventory');
    assert.equal(detectFormat('x.txt', 'rows:\n  - {}\n'), 'yaml');
    assert.equal(detectFormat('x.txt', 'name,cores\n'), 'csv');
    expectUserError(() => detectFormat('x.txt', 'hello'), /^x\.txt: cannot tell what kind of topology this is; pass --format/);
  });

  it('an explicit format wins over the extension', () => {
    const file = write('table.txt', 'name,cores,ram,storage,vms\nweb,4,8,50,3\n');
    const t = loadTopology(file, { format: 'csv' });
    assert.deepEqual(
      t.rows.map((r) => r.vmCount),
      [3],
    );
  });

  it('a missing file, a directory without inventory, a binary file', () => {
    expectUserError(() => loadTopology(path.join(tmp, 'nope.yaml')), /nope\.yaml: no such file$/);
    mkdirSync(path.join(tmp, 'emptydir'), { recursive: true });
    expectUserError(() => loadTopology(path.join(tmp, 'emptydir')), /emptydir: is a directory without inventory\.ini$/);
    const bin = write('bin.csv', 'a\u0000b');
    expectUserError(() => loadTopology(bin), /bin\.csv: is a binary file/);
  });
});

describe('service names', () => {
  it('maps VM summary rows and inventory names to services', () => {
    const m = (n: string) => serviceKindForName(n);
    assert.equal(m('pg_main'), 'postgresql');
    assert.equal(m('es_datanode'), 'elasticsearch');
    assert.equal(m('riakcs'), 'object_storage');
    assert.equal(m('django'), 'django');
    assert.equal(m('webworkers'), 'django');
    assert.equal(m('couchdb2'), 'couchdb');
    assert.equal(m('proxy'), 'nginx');
    assert.equal(m('pillowtop'), 'pillowtop');
    assert.equal(m('control'), undefined);
  });
});
