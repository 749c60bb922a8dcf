// Parity with commcare_resource_model, cell by cell. Each file in parity/ is one case: a config of our own
// (`config`, a block of text) and the VM summary the tool gave for it (`expected`: per set, per summary date,
// per service [cores/VM, RAM/VM, data GB/VM, VMs, data total, storage group, OS disks GB] and the storage per
// group). A new case is one more file, written by parity/expected-from-tool.py from a checkout of the tool.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseSizingConfig } from './config.ts';
import { computeVmSummary } from './index.ts';
import type { ServiceSummary } from './model.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'parity');

type Cell = number | string | null;
interface Expected {
  users: number;
  services: Record<string, Cell[]>;
  groups: Record<string, Cell>;
}
interface ParityCase {
  config: string;
  expected: Record<string, Record<string, Expected>>;
}

const COLUMNS = ['cores/VM', 'RAM/VM', 'data GB/VM', 'VMs', 'data total', 'storage group', 'OS disks GB'] as const;
const cellsOf = (s: ServiceSummary): Cell[] => [
  s.coresPerVm,
  s.ramGbPerVm,
  s.storageGbPerVm,
  s.vmsTotal,
  s.storageTotal,
  s.storageGroup ?? null,
  s.osStorageTotalGb,
];

/** The tool leaves NaN, None and 0 blank in its VM summary; they are one value here. */
function same(want: Cell, got: Cell): boolean {
  const blank = (x: Cell) => x === null || x === 0 || x === '';
  if (blank(want) || blank(got)) return blank(want) && blank(got);
  if (typeof want === 'number' && typeof got === 'number') return Math.abs(want - got) <= 1e-9 * Math.max(1, Math.abs(want));
  return want === got;
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yml'))
  .sort();
let total = 0;
let matching = 0;

describe('parity with commcare_resource_model', () => {
  it('has cases', () => assert.ok(files.length >= 3, `parity cases in ${dir}`));

  for (const file of files) {
    const c = parseYaml(readFileSync(path.join(dir, file), 'utf8')) as ParityCase;
    for (const [set, dates] of Object.entries(c.expected)) {
      it(`${file} [${set}]: every cell of the VM summary`, () => {
        const config = parseSizingConfig(c.config, file, set === 'default' ? {} : { set });
        const result = computeVmSummary(config, undefined, { dates: Object.keys(dates) });
        const wrong: string[] = [];
        for (const [month, want] of Object.entries(dates)) {
          const got = result.summaries.find((s) => s.month === month)!;
          const byName = new Map(got.services.map((s) => [s.name, s]));
          for (const [name, row] of Object.entries(want.services)) {
            const mine = byName.get(name);
            row.forEach((w, k) => {
              total++;
              const g = mine ? cellsOf(mine)[k]! : null;
              if (same(w, g)) matching++;
              else wrong.push(`${month} ${name} ${COLUMNS[k]}: tool ${w}, ours ${g}`);
            });
          }
          for (const [group, w] of Object.entries(want.groups)) {
            total++;
            const g = got.storageByGroup[group] ?? null;
            if (same(w, g)) matching++;
            else wrong.push(`${month} storage group ${group}: tool ${w}, ours ${g}`);
          }
          assert.equal(got.users, want.users, `${month} users`);
        }
        assert.deepEqual(wrong, []);
      });
    }
  }

  it('counts the cells', (t) => {
    t.diagnostic(
      `parity: ${matching}/${total} cells (${((100 * matching) / Math.max(total, 1)).toFixed(1)} %) over ${files.length} configs`,
    );
    assert.ok(total > 500, `only ${total} cells compared`);
    assert.equal(matching, total);
  });
});
