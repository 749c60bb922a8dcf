// `capacity report` on a real local run: calibration has figures, the HTML opens in headless Chromium with every
// image loaded and every table filled, every <img> is a data: PNG that decodes, the PDF has pages. Then the same
// run without its samples: the report still builds and says what is missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { UserError } from '../../core/errors.ts';
import { cost } from '../../reports/calibrate.ts';
import { pngSize } from '../../reports/charts.ts';
import { dumpDom, screenshot } from '../../reports/pdf.ts';
import { buildReport, type ReportResult } from '../../reports/report.ts';
import { runScenario } from '../../runner/run.ts';
import { repoRoot } from '../../core/paths.ts';
import { ensureStackUp } from './stack-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-report-'));
const localTopology = path.join(repoRoot, 'topology', 'examples', 'local.yaml');

/** Every <img> in the HTML: a data: PNG whose bytes decode to the size the tag says. */
function checkImages(html: string): number {
  const imgs = [...html.matchAll(/<img\b[^>]*>/g)].map((m) => m[0]);
  for (const tag of imgs) {
    const src = /src="data:image\/png;base64,([^"]+)"/.exec(tag);
    assert.ok(src, `img with a data: PNG: ${tag.slice(0, 80)}`);
    const size = pngSize(Buffer.from(src[1]!, 'base64'));
    assert.ok(size && size.width > 0 && size.height > 0, 'PNG signature and IHDR');
    assert.equal(size.width, Number(/width="(\d+)"/.exec(tag)![1]));
    assert.equal(size.height, Number(/height="(\d+)"/.exec(tag)![1]));
  }
  return imgs.length;
}

function checkTables(html: string): number {
  const tables = [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((m) => m[1]!);
  for (const t of tables) assert.match(t, /<tbody><tr>/, 'a table with rows');
  assert.doesNotMatch(html, /<tbody><\/tbody>/);
  return tables.length;
}

describe('capacity report on a real local run', { timeout: 240_000 }, () => {
  let dir: string;
  let report: ReportResult;

  before(async () => {
    await ensureStackUp();
    const out = await runScenario({
      scenario: 'mixed-day',
      target: 'local',
      domain: 'it-report',
      app: 'household',
      users: 10,
      shape: { rate: 6, durationS: 35, restoreRatio: 0.3, searchRatio: 0.1 },
      resultsRoot: path.join(tmp, 'results'),
      collectIntervalMs: 1000,
      livenessEvery: 5,
      log: () => undefined,
      echo: () => undefined,
    });
    dir = out.dir;
    report = await buildReport({ resultsDir: dir, topologyFile: localTopology, target: { users: 2000 }, outDir: path.join(tmp, 'report') });
  });

  it('calibrates per-unit costs from the run', () => {
    const c = report.model.calibration;
    assert.ok(c.counts.formsWritten! > 0);
    for (const key of [
      'web_cpu_per_form',
      'pillow_cpu_per_change',
      'pg_cpu_per_form',
      'es_cpu_per_form',
      'pg_bytes_per_form',
      'pg_bytes_per_case',
      'pg_bytes_per_transaction',
      'es_bytes_per_form_doc',
      'kafka_bytes_per_change',
      'cases_per_restore',
    ] as const) {
      const v = cost(c, key);
      assert.ok(v !== undefined && v > 0, `${key}: ${c.costs.find((x) => x.key === key)?.basis}`);
    }
    // sane orders of magnitude for this stack
    assert.ok(cost(c, 'web_cpu_per_form')! < 1, 'web CPU per form under a second');
    assert.ok(cost(c, 'pg_bytes_per_form_row')! > 100 && cost(c, 'pg_bytes_per_form_row')! < 100_000);
    assert.ok(cost(c, 'kafka_bytes_per_change')! > 50 && cost(c, 'kafka_bytes_per_change')! < 100_000);
    const kinds = c.services.map((s) => s.kind).sort();
    for (const k of ['django', 'elasticsearch', 'kafka', 'pillowtop', 'postgresql', 'celery', 'rabbitmq', 'redis'])
      assert.ok(kinds.includes(k), `${k} CPU measured`);
    // the day's exports (its default share): the celery, RabbitMQ and Redis rows' costs, measured
    // (the day's first export goes at its start, before any case: its rows may be none, so no cost per row is asked for)
    for (const key of ['celery_cpu_per_export', 'rabbitmq_messages_per_export', 'redis_ops_per_export']) {
      const x = c.costs.find((y) => y.key === key);
      assert.ok(x?.value !== undefined && x.value > 0, `${key}: ${x?.basis}`);
    }
  });

  it('judges the topology row and projects to the target', () => {
    const m = report.model;
    assert.equal(m.verdicts.length, 1);
    const v = m.verdicts[0]!;
    assert.equal(v.row.name, 'local');
    assert.ok(['measured', 'modelled'].includes(v.label), v.label);
    assert.notEqual(v.verdict, 'not measured');
    assert.ok(v.checks.some((c) => c.resource === 'cpu' && c.basis === 'measured'));
    // a disk is judged by usage, or said to be the config's static baseline
    assert.ok(v.checks.some((c) => c.resource === 'storage') || v.notes.some((n) => /static baseline/.test(n)), v.notes.join('; '));
    assert.ok(m.projection!.start >= (m.run.startedAt ?? '').slice(0, 7), 'the projection starts at the run');
    assert.equal(m.projection!.target.users, 2000);
    assert.ok(m.projection!.overrides.some((o) => o.path.startsWith('services.pg_main.storage.data_models')));
    assert.ok(m.hosts.some((h) => h.host === 'localhost' && h.row === 'local'));
  });

  it('HTML opens in headless Chromium with every image loaded and every table filled; PDF has pages', async () => {
    const html = fs.readFileSync(report.files.html!, 'utf8');
    const images = checkImages(html);
    const tables = checkTables(html);
    assert.ok(images >= 8, `charts: ${images}`);
    for (const id of [
      'throughput',
      'latency-receiver',
      'errors',
      'pillow-lag',
      'postgres',
      'elasticsearch',
      'utilisation',
      'storage-growth',
    ]) {
      assert.ok(
        report.model.charts.some((c) => c.id === id),
        `chart ${id}`,
      );
    }
    const dom = await dumpDom(report.files.html!);
    const body = /<body([^>]*)>/.exec(dom)![1]!;
    assert.match(body, new RegExp(`data-images="${images}/${images}"`), 'every image has a natural width in Chromium');
    assert.match(body, /data-empty-tables="0"/);
    assert.match(body, new RegExp(`data-tables="${tables}"`));
    const shot = path.join(tmp, 'shot.png');
    await screenshot(report.files.html!, shot);
    assert.ok(pngSize(fs.readFileSync(shot))!.width > 0);
    const info = execFileSync('pdfinfo', [report.files.pdf!], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)![1]);
    assert.ok(pages >= 2, `PDF pages: ${pages}`);
    // Markdown points at chart files that exist; JSON reads back
    const md = fs.readFileSync(report.files.md!, 'utf8');
    const refs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((x) => x[1]!);
    assert.equal(refs.length, images);
    for (const r of refs) assert.ok(pngSize(fs.readFileSync(path.join(report.outDir, r))), r);
    assert.equal(JSON.parse(fs.readFileSync(report.files.json!, 'utf8')).verdicts.length, 1);
  });

  it('a results dir without samples: the report says so instead of failing', async () => {
    const bare = path.join(tmp, 'bare');
    fs.mkdirSync(bare);
    for (const f of fs.readdirSync(dir))
      if (f !== 'samples.ndjson' && fs.statSync(path.join(dir, f)).isFile()) fs.copyFileSync(path.join(dir, f), path.join(bare, f));
    const r = await buildReport({
      resultsDir: bare,
      topologyFile: localTopology,
      outDir: path.join(bare, 'report'),
      formats: ['html', 'json'],
    });
    assert.ok(r.model.sources.some((s) => s.name === 'samples.ndjson' && s.status === 'missing'));
    assert.match(r.model.calibration.notes.join(' '), /no collector samples/);
    assert.equal(cost(r.model.calibration, 'web_cpu_per_form'), undefined);
    const html = fs.readFileSync(r.files.html!, 'utf8');
    checkImages(html);
    checkTables(html);
    assert.match(html, /Chart not drawn: PostgreSQL load/);
    assert.match(html, /No host samples in this run/);
  });

  it('a directory that is not a run is a one-line error', async () => {
    await assert.rejects(
      buildReport({ resultsDir: path.join(tmp, 'nope') }),
      (e: unknown) => e instanceof UserError && /no such results directory/.test(e.message),
    );
    await assert.rejects(
      buildReport({ resultsDir: tmp }),
      (e: unknown) => e instanceof UserError && /not a results directory/.test(e.message),
    );
  });
});
