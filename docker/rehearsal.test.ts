import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { expectUserError } from '../test/support/user-error.ts';
import { createOptions } from './engine.ts';
import { parseScale, planRehearsal } from './rehearsal-plan.ts';
import { rehearsalConfig } from './rehearsal-processes.ts';
import { hostSpec, REHEARSAL_LABELS, rehearsalPlan } from './rehearsal.ts';

const file = new URL('../topology/examples/seed-multi-vm.yaml', import.meta.url).pathname;
const plan = planRehearsal(loadTopology(file), parseScale('1/24'), defaultPorts);
const cfg = rehearsalConfig(defaultPorts);
const of = (host: string) => plan.containers.find((c) => c.host === host)!;
const ctx = { image: 'capacity/x:1', topologyFile: file, workDir: '/w' };

describe('a rehearsal host as an engine container', () => {
  it('a web host: its own address only, its memory limit, the blob store, labels the status reads', () => {
    const web = of('web1');
    const spec = hostSpec(web, plan, cfg, ctx);
    assert.equal(spec.name, 'rehearsal-web1');
    assert.equal(spec.network, 'rehearsal');
    assert.equal(spec.memoryBytes, 341 * 2 ** 20);
    assert.equal(spec.cpus, undefined, 'the CPU limit comes once healthy');
    assert.deepEqual(spec.binds, { '/w/blobs': '/data/blobs' });
    assert.equal(spec.labels![REHEARSAL_LABELS.address], web.address);
    assert.equal(spec.labels![REHEARSAL_LABELS.topology], path.resolve(file));
    const opts = createOptions(spec);
    assert.deepEqual(opts.HostConfig!.PortBindings, { '8000/tcp': [{ HostIp: web.address, HostPort: '18001' }] });
    assert.equal(opts.Labels!['capacity.stack'], 'rehearsal');
  });

  it('the proxy mounts its file; PostgreSQL keeps its image command and answers to "postgres" on the network', () => {
    assert.deepEqual(hostSpec(of('proxy1'), plan, cfg, ctx).binds, { '/w/nginx.conf': '/etc/capacity/nginx.conf:ro' });
    const pg = hostSpec(of('pg1'), plan, cfg, ctx);
    assert.equal(pg.cmd, undefined);
    assert.equal(pg.alias, 'postgres');
    assert.equal(pg.env!.POSTGRES_DB, 'commcarehq');
  });

  it('refuses a scale that asks more cores than the machine has, and a bad scale, in one line', () => {
    // the seed's largest rows have 8 cores
    if (os.cpus().length < 8)
      expectUserError(() => rehearsalPlan(file, '1', defaultPorts), /--scale 1: celery1 would get 8 cores and this machine has \d+/);
    else assert.equal(rehearsalPlan(file, '1', defaultPorts).plan.containers.length, 11);
    expectUserError(() => rehearsalPlan(file, '3/2', defaultPorts), /--scale "3\/2": a share above 0 and at most 1/);
  });
});
