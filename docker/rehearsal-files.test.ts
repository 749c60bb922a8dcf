import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPorts } from '../stack/config.ts';
import { loadTopology } from '../topology/load.ts';
import { credentialsText, rehearsalPostgresUrl, rehearsalWorkers } from './rehearsal-files.ts';
import { parseScale, planRehearsal } from './rehearsal-plan.ts';

describe('rehearsal files', () => {
  it('workers keep their ids from one stack up to the next, with fresh passwords; the run reads their credentials', () => {
    const a = rehearsalWorkers(3);
    const b = rehearsalWorkers(3);
    assert.deepEqual(
      a.map((w) => w.userId),
      b.map((w) => w.userId),
    );
    assert.notEqual(a[0]!.password, b[0]!.password);
    assert.equal(a[2]!.username, 'rehearsal0003@demo.commcarehq.org');
    assert.equal(new Set(a.map((w) => w.userId)).size, 3);
    // the lines `capacity run --credentials` reads (targets/url-checks.ts: username,password)
    const lines = credentialsText(a).trimEnd().split('\n');
    assert.deepEqual(
      lines,
      a.map((w) => `${w.username},${w.password}`),
    );
    assert.ok(a.every((w) => !w.password.includes(',')));
  });

  it("PostgreSQL is reached at the pg host's own address and published port", () => {
    const seed = loadTopology(new URL('../topology/examples/seed-multi-vm.yaml', import.meta.url).pathname);
    const plan = planRehearsal(seed, parseScale('1/24'), { ...defaultPorts, postgres: 45432 });
    const pg1 = plan.containers.find((c) => c.host === 'pg1')!;
    assert.equal(rehearsalPostgresUrl(plan), `postgresql://capacity:capacity@${pg1.address}:45432/commcarehq`);
  });
});
