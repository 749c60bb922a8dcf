// Property test (issue 14): the readers of inventories, topologies, sizing configs and baselines, fed random bytes,
// random structures and mutations of real examples through the CLI. Every case exits 0 (valid by chance) or 2 with
// one line naming the file; never a crash (exit 1, a stack trace), never a hang, never unbounded memory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { repoRoot } from '../core/paths.ts';
import { cli } from './support/cli.ts';

const RUNS = Number(process.env.CAPACITY_FUZZ_RUNS ?? 100);
const CASE_MS = 5000;
const HEAP_GROWTH_MAX = 256 * 2 ** 20;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-readers-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** Writes `content` as `name` in a fresh folder; its path. */
function write(name: string, content: string | Uint8Array): string {
  const dir = path.join(tmp, String(n++));
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

const heapStart = process.memoryUsage().heapUsed;

/** Runs the CLI on one generated file and checks the property. `names`: what the error line may name. */
async function check(args: string[], names: string[], what: string): Promise<void> {
  const t = Date.now();
  const r = await cli(...args);
  const ms = Date.now() - t;
  const where = `${what}: capacity ${args.join(' ')} -> ${r.code}: ${r.stderr.slice(0, 400)}`;
  assert.ok(ms < CASE_MS, `${where} (took ${ms} ms)`);
  global.gc?.();
  assert.ok(
    process.memoryUsage().heapUsed - heapStart < HEAP_GROWTH_MAX,
    `${where}: heap grew by ${process.memoryUsage().heapUsed - heapStart} bytes`,
  );
  if (r.code === 0) return;
  assert.equal(r.code, 2, where);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${where}: one line`);
  assert.ok(
    names.some((f) => lines[0]!.includes(f)),
    `${where}: names the file`,
  );
  assert.doesNotMatch(lines[0]!, /\n\s+at |TypeError|RangeError|is not a function|is not iterable|Cannot read prop/, where);
}

// --- generators -----------------------------------------------------------------------------------------------

const bytes = fc.uint8Array({ maxLength: 2000 });
const text = fc.string({ unit: 'binary', maxLength: 500 });
/** YAML that is hostile as YAML: alias bombs, deep nesting, odd tags, huge numbers, duplicate keys. */
const hostileYaml = fc.constantFrom(
  `a: &a [x,x,x,x,x,x,x,x,x]\n${Array.from({ length: 8 }, (_, i) => `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`).join('\n')}\n`,
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
  `${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i % 200)}- x`).join('\n')}`,
  'a: !!binary AAAA\nb: !!js/function "function(){}"\nc: !custom 1',
  'rows: 1e400\nhosts: -.inf\nusage: .nan',
  'a: 1\na: 2',
  '? [a, b]\n: c',
  '--- a\n--- b',
  '%YAML 9.9\n--- x',
  'a: *undefined',
  '\ufeff\u0000\u0001',
);
const jsonish = fc.jsonValue({ maxDepth: 6 });

/** A value at a random place of `doc` replaced by a random one: a typo anywhere in a real file. */
function mutate(doc: unknown, pick: number, value: unknown): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(doc, []);
  const target = paths[pick % paths.length]!;
  if (target.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const k of target.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[target.at(-1)!] = value;
  return copy;
}

/** Random bytes, random text, hostile YAML, random structures, and mutations of `example` as YAML. */
function yamlContent(example: unknown): fc.Arbitrary<{ what: string; content: string | Uint8Array }> {
  return fc.oneof(
    bytes.map((b) => ({ what: `${b.length} random bytes`, content: b })),
    text.map((t) => ({ what: 'random text', content: t })),
    hostileYaml.map((y) => ({ what: `hostile YAML ${JSON.stringify(y.slice(0, 40))}`, content: y })),
    jsonish.map((v) => ({ what: 'a random structure', content: YAML.stringify(v) })),
    fc
      .tuple(fc.nat(), jsonish)
      .map(([i, v]) => ({ what: `the example with a value replaced (${i})`, content: YAML.stringify(mutate(example, i, v)) })),
    fc
      .tuple(fc.nat(), fc.constantFrom(null, '', -1, 0, 1e308, 'x', [], {}, true, '{a}', '1/0', 'NaN', '999999999999'))
      .map(([i, v]) => ({ what: `the example with ${JSON.stringify(v)} at ${i}`, content: YAML.stringify(mutate(example, i, v)) })),
  );
}

const readYaml = (file: string) => YAML.parse(fs.readFileSync(path.join(repoRoot, file), 'utf8')) as unknown;

/** Inventory lines: sections, hosts with variables, ranges (some huge), and garbage. */
const inventoryLine = fc.oneof(
  fc.constantFrom(
    '[webworkers]',
    '[postgresql]',
    '[all:children]',
    '[webworkers:vars]',
    '[pillowtop]',
    '[',
    '[]',
    '[a:b:c]',
    '# comment',
    '',
  ),
  fc
    .tuple(fc.ipV4(), fc.constantFrom('', ' hostname=web1', ' a=b c="d e"', " x='", ' novalue', ' kafka_broker_id=1'))
    .map(([h, v]) => `${h}${v}`),
  fc.tuple(fc.nat({ max: 20 }), fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 2 ** 31 }))).map(([a, b]) => `10.0.0.[${a}:${b}]`),
  fc.constantFrom('h[1:999999999]', 'h[a:z][1:9999]', 'h[9:1]', 'h[1:5:0]', 'h[01:10:2]', 'h[x:yy]', 'webworkers', 'pillowtop'),
  fc.string({ unit: 'binary', maxLength: 60 }),
);
const inventoryText = fc.array(inventoryLine, { maxLength: 30 }).map((l) => l.join('\n'));

// --- the properties ---------------------------------------------------------------------------------------------

describe('readers property: random input exits 2 naming the file, never crashes', { timeout: 600_000 }, () => {
  it(`inventories (inventory.ini and app-processes.yml): ${RUNS} cases`, async () => {
    const appProcesses = readYaml('topology/fixtures/env-small/app-processes.yml');
    await fc.assert(
      fc.asyncProperty(fc.oneof(inventoryText, text), yamlContent(appProcesses), fc.boolean(), async (inv, app, withApp) => {
        const file = write('inventory.ini', inv);
        if (withApp) fs.writeFileSync(path.join(path.dirname(file), 'app-processes.yml'), app.content);
        await check(
          ['topology', 'show', path.dirname(file)],
          [path.dirname(file)],
          `inventory${withApp ? ` + app-processes.yml (${app.what})` : ''}`,
        );
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it(`topologies (YAML, seed table, CSV, Markdown): ${RUNS} cases`, async () => {
    const example = readYaml('topology/examples/local.yaml');
    const table = fs.readFileSync(path.join(repoRoot, 'topology/fixtures/seed-000-multi-vm.txt'), 'utf8');
    const tableContent = fc.oneof(
      bytes.map((b) => ({ what: 'random bytes', content: b as string | Uint8Array })),
      fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.string({ maxLength: 10 })).map(([at, len, s]) => {
        const i = at % table.length;
        return { what: `the seed table with ${len} characters at ${i} replaced`, content: table.slice(0, i) + s + table.slice(i + len) };
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          yamlContent(example).map((c) => ({ ...c, name: 'topology.yaml' })),
          tableContent.map((c) => ({ ...c, name: 'seed.txt' })),
          text.map((t) => ({ what: 'random text', content: t, name: 'topology.csv' })),
          text.map((t) => ({ what: 'random text', content: `| a | b |\n|---|---|\n${t}`, name: 'topology.md' })),
        ),
        async (c) => {
          const file = write(c.name, c.content);
          await check(['topology', 'show', file], [file], `${c.name}: ${c.what}`);
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it(`sizing configs: ${RUNS} cases`, async () => {
    const example = readYaml('reports/sizing/examples/seed-multi-vm.yml');
    await fc.assert(
      fc.asyncProperty(yamlContent(example), async (c) => {
        const file = write('sizing.yml', c.content);
        await check(['plan', file], [file], `sizing config: ${c.what}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it(`baselines: ${RUNS} cases`, async () => {
    const example = JSON.parse(fs.readFileSync(path.join(repoRoot, 'gates/baselines/local-steady.json'), 'utf8')) as unknown;
    const content = fc.oneof(
      bytes.map((b) => ({ what: 'random bytes', content: b as string | Uint8Array })),
      jsonish.map((v) => ({ what: 'a random structure', content: JSON.stringify(v) })),
      fc
        .tuple(fc.nat(), jsonish)
        .map(([i, v]) => ({ what: `the baseline with a value replaced (${i})`, content: JSON.stringify(mutate(example, i, v)) })),
      fc
        .tuple(fc.nat(), fc.constantFrom(null, '', -1, 'huge', [], {}, { pct: 'x' }, [{ pattern: 1 }], 1e308))
        .map(([i, v]) => ({ what: `the baseline with ${JSON.stringify(v)} at ${i}`, content: JSON.stringify(mutate(example, i, v)) })),
    );
    const results = path.join(tmp, 'no-results-here');
    await fc.assert(
      fc.asyncProperty(content, async (c) => {
        const file = write('baseline.json', c.content);
        // the baseline is read first; a baseline valid by chance then meets a results directory that is not one
        await check(['gate', results, '--baseline', file], [file, results], `baseline: ${c.what}`);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });
});
