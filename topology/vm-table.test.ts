import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { totals, type VmRow } from './model.ts';
import { formatVmTable, readVmTable, sniffTableFormat } from './vm-table.ts';
import { expectUserError } from '../test/support/user-error.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const seedFixture = path.join(here, 'fixtures', 'seed-000-multi-vm.txt');
// sha-256 of seeds/000 as it was handed to the project: the fixture is that document, byte for byte
const SEED_SHA256 = '99728506242b11a0285230b7e9875b9aa0ec21322fcfca3775534e6098b230af';

/** The seed's VM summary, figure by figure, as printed in seeds/000. */
const SEED_ROWS: Array<[string, number, number, number, number]> = [
  ['celery', 8, 32, 100, 1],
  ['couchdb', 2, 4, 92, 1],
  ['django', 4, 8, 50, 3],
  ['es_datanode', 2, 16, 400, 1],
  ['formplayer', 2, 4, 100, 1],
  ['kafka', 2, 4, 86, 1],
  ['nginx', 2, 4, 50, 1],
  ['pg_main', 2, 8, 126, 1],
  ['pillowtop', 8, 32, 100, 1],
  ['rabbitmq', 2, 4, 50, 1],
  ['redis', 1, 8, 0.076, 1],
  ['riakcs', 4, 16, 1340, 1],
];

function figures(rows: VmRow[]) {
  return rows.map((r) => [r.name, r.coresPerVm, r.ramGbPerVm, r.storageGbPerVm, r.vmCount]);
}

describe('the seed VM summary (ASCII grid)', () => {
  const text = readFileSync(seedFixture, 'utf8');

  it('reads to its 12 rows and 14 VMs with every figure right', () => {
    const { rows, title } = readVmTable(text, 'grid', seedFixture);
    assert.equal(title, 'VM summary');
    assert.equal(rows.length, 12);
    assert.deepEqual(figures(rows), SEED_ROWS);
    const t = totals(rows);
    assert.equal(t.vms, 14);
    assert.equal(t.cores, 47); // 8+2+4*3+2+2+2+2+2+8+2+1+4
    assert.equal(t.ramGb, 156); // 32+4+8*3+16+4+4+4+8+32+4+8+16
    assert.equal(rows.find((r) => r.name === 'redis')!.storageGbPerVm, 0.076);
    assert.equal(rows.find((r) => r.name === 'django')!.vmCount, 3);
    assert.equal(rows[0]!.source, `${seedFixture}:27`);
  });

  it('the fixture is the seed, unchanged', () => {
    assert.equal(createHash('sha256').update(readFileSync(seedFixture)).digest('hex'), SEED_SHA256);
  });

  it('is detected as a grid table', () => {
    assert.equal(sniffTableFormat(text), 'grid');
  });
});

describe('Markdown and CSV versions of the same table', () => {
  const seedRows = readVmTable(readFileSync(seedFixture, 'utf8'), 'grid', seedFixture).rows;

  it('a hand-written Markdown pipe table inside a document reads to the same rows', () => {
    const md = [
      '# Sizing',
      '',
      'Some text before the table.',
      '',
      '| Service | Cores Per VM | RAM Per VM | Data Storage Per VM (GB) | VMs Total | Storage Group |',
      '|:--|--:|--:|--:|--:|---|',
      ...SEED_ROWS.map(([n, c, r, s, v]) => `| ${n} | ${c} | ${r} | ${s} | ${v} | SSD |`),
      '| Total | 47 | 156 | 2594.076 | 14 | |',
      '',
      'After.',
    ].join('\n');
    const { rows } = readVmTable(md, 'markdown', 'vm.md');
    assert.deepEqual(figures(rows), figures(seedRows));
    assert.equal(rows[0]!.storageGroup, 'SSD');
    assert.equal(rows[0]!.source, 'vm.md:7');
  });

  it('CSV with quoted fields, thousands separators and a comment reads to the same rows', () => {
    const csv = [
      '# exported from the resource model',
      'name,Cores Per VM,RAM Per VM,Data Storage Per VM (GB),VMs Total,OS Storage Total (GB)',
      ...SEED_ROWS.map(([n, c, r, s, v]) => `"${n}",${c},${r},${s === 1340 ? '"1,340"' : s},${v},50`),
    ].join('\r\n');
    const { rows } = readVmTable(csv, 'csv', 'vm.csv');
    assert.deepEqual(figures(rows), figures(seedRows));
    assert.equal(rows[2]!.source, 'vm.csv:5');
  });
});

describe('printing', () => {
  const rows = readVmTable(readFileSync(seedFixture, 'utf8'), 'grid', seedFixture).rows;

  it('the seed style reproduces the seed table byte for byte', () => {
    const printed = formatVmTable(rows, 'seed');
    assert.ok(readFileSync(seedFixture, 'utf8').includes(printed.trimEnd()), printed);
  });

  for (const style of ['seed', 'grid', 'markdown', 'csv'] as const) {
    it(`round-trips through the readers (${style})`, () => {
      const format = style === 'seed' ? 'grid' : style;
      const printed = formatVmTable(rows, style);
      assert.equal(sniffTableFormat(printed), format);
      assert.deepEqual(figures(readVmTable(printed, format, 'printed').rows), figures(rows));
    });
  }

  it('prints fractions without float noise', () => {
    const printed = formatVmTable([{ name: 'x', coresPerVm: 1, ramGbPerVm: 0.1 + 0.2, storageGbPerVm: 0.076, vmCount: 1 }], 'csv');
    assert.match(printed, /x,1,0\.3,0\.076,1/);
  });
});

describe('bad tables give one-line errors naming the file and line', () => {
  it('a non-numeric figure', () => {
    const text = readFileSync(seedFixture, 'utf8').replace('| redis | 1 | 8 | 0.076 | 1 |', '| redis | 1 | eight | 0.076 | 1 |');
    expectUserError(() => readVmTable(text, 'grid', 'seed.txt'), /^seed\.txt:67: row "redis": RAM Per VM is "eight", not a number$/);
  });

  it('a fractional VM count', () => {
    expectUserError(
      () => readVmTable('name,cores,ram,storage,vms\na,1,2,3,1.5\n', 'csv', 'v.csv'),
      /^v\.csv:2: row "a": VMs Total is 1\.5, not a whole number$/,
    );
  });

  it('a missing column', () => {
    expectUserError(
      () => readVmTable('| name | Cores Per VM | RAM Per VM | VMs Total |\n|---|---|---|---|\n| a | 1 | 2 | 1 |\n', 'markdown', 'v.md'),
      /^v\.md:1: VM summary has no "Data Storage Per VM \(GB\)" column/,
    );
  });

  it('no table at all', () => {
    expectUserError(() => readVmTable('just words\n', 'grid', 'words.txt'), /^words\.txt: no grid/);
    expectUserError(
      () => readVmTable('| a | b |\n|---|---|\n| 1 | 2 |\n', 'markdown', 'other.md'),
      /^other\.md:1: no VM summary table found/,
    );
  });

  it('a duplicated row', () => {
    expectUserError(
      () => readVmTable('name,cores,ram,storage,vms\na,1,2,3,1\na,1,2,3,1\n', 'csv', 'd.csv'),
      /^d\.csv:3: VM summary row "a" appears twice \(first on line 2\)$/,
    );
  });

  it('a header with no rows', () => {
    expectUserError(() => readVmTable('name,cores,ram,storage,vms\n', 'csv', 'e.csv'), /^e\.csv:1: VM summary has a header but no rows$/);
  });

  it('unreadable CSV', () => {
    expectUserError(() => readVmTable('name,cores,ram,storage,vms\n"a,1,2,3,1\n', 'csv', 'q.csv'), /^q\.csv(:\d+)?: not readable as CSV/);
  });
});
