import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAppText } from '../app.ts';
import { readSubmission } from '../reader.ts';
import { builtin } from '../testing.ts';
import { loadApp } from './apps.ts';
import { writeCorpus, type CorpusManifest } from './corpus.ts';
import { validatePath } from './validate.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(path.join(tmpdir(), 'capacity-corpus-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function hashDir(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(e.name).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('corpus writer', () => {
  it('writes manifest, users and one NDJSON file per worker; same seed -> same bytes', async () => {
    const app = builtin('household');
    const opts = { app, appSource: 'builtin:household', population: { users: 3, seed: 5, duplicates: 0.05, edits: 0.05 }, count: 301 };
    const a = await writeCorpus({ ...opts, out: path.join(tmp, 'a') });
    await writeCorpus({ ...opts, out: path.join(tmp, 'b') });
    assert.equal(hashDir(path.join(tmp, 'a')), hashDir(path.join(tmp, 'b')));
    assert.deepEqual(
      a.files.map((f) => [f.file, f.forms]),
      [
        ['forms/w0000.ndjson', 101],
        ['forms/w0001.ndjson', 100],
        ['forms/w0002.ndjson', 100],
      ],
    );
    assert.equal(a.counts.original + a.counts.duplicate + a.counts.edit, 301);
    const users = JSON.parse(readFileSync(path.join(tmp, 'a', 'users.json'), 'utf8')) as {
      login: string;
      password: string;
      userId: string;
      file: string;
    }[];
    assert.equal(users[1]!.login, 'mw0001@capacity-test.commcarehq.org');
    const lines = readFileSync(path.join(tmp, 'a', users[1]!.file), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 100);
    assert.deepEqual(
      lines.map((l) => l.seq),
      Array.from({ length: 100 }, (_, i) => i),
    );
    const first = readSubmission(lines[0]!.xml as string);
    assert.equal(first.meta?.userID, users[1]!.userId);
    assert.equal(first.meta?.instanceID, lines[0]!.instanceID);
    const manifest = JSON.parse(readFileSync(path.join(tmp, 'a', 'manifest.json'), 'utf8')) as CorpusManifest;
    assert.equal(manifest.format, 'capacity-corpus/1');
    assert.equal(manifest.count, 301);
    const report = await validatePath(path.join(tmp, 'a'));
    assert.deepEqual(report.issues, []);
    assert.equal(report.submissions, 301);
    await assert.rejects(
      writeCorpus({ ...opts, out: path.join(tmp, 'a') }),
      /is not empty \(it holds a corpus: pass --force to replace it\)/,
    );
  });

  it('multipart corpus: bodies validate, attachments included', async () => {
    const out = path.join(tmp, 'mp');
    const m = await writeCorpus({
      app: builtin('supply'),
      appSource: 'supply',
      population: { users: 2, seed: 2 },
      count: 60,
      out,
      multipart: true,
    });
    assert.equal(m.multipart, true);
    const rec = JSON.parse(readFileSync(path.join(out, 'forms/w0000.ndjson'), 'utf8').split('\n')[0]!) as Record<string, string>;
    assert.match(rec.contentType!, /^multipart\/form-data; boundary=/);
    assert.equal(rec.xml, undefined);
    assert.match(Buffer.from(rec.body64!, 'base64').toString('latin1'), /name="xml_submission_file"; filename="[0-9a-f-]+\.xml"/);
    assert.deepEqual((await validatePath(out)).issues, []);
  });

  it('validation names the file, the line and the problem', async () => {
    const out = path.join(tmp, 'broken');
    await writeCorpus({
      app: builtin('household'),
      appSource: 'household',
      population: { users: 1, seed: 1, caseLoad: 3 },
      count: 40,
      out,
    });
    const file = path.join(out, 'forms/w0000.ndjson');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const r3 = JSON.parse(lines[2]!) as Record<string, string>;
    r3.xml = r3.xml!.replace('</data>', '');
    lines[2] = JSON.stringify(r3);
    // a follow-up moved before the registrations: its case does not exist yet
    const follow = lines.findIndex((l) => /"form":"(pregnancy_visit|child_visit|close_member|close_household)"/.test(l));
    assert.ok(follow > 2, `a follow-up after the first registrations: ${follow}`);
    const [moved] = lines.splice(follow, 1);
    lines.unshift(moved!);
    writeFileSync(file, lines.join('\n') + '\n');
    const report = await validatePath(out);
    const text = report.issues.map((i) => `${i.file}:${i.line}: ${i.message}`).join('\n');
    assert.match(text, /w0000\.ndjson:1: case [0-9a-f-]+ is updated \(update.*\) before it is created/);
    assert.match(text, /w0000\.ndjson:4: not well-formed XML at line 1, column \d+: Unclosed tag .data./, 'line 3 moved down by one');
    assert.ok(report.errors >= 2);
  });

  it('capacity generate / --validate work end to end and reject a broken file with a clear message', () => {
    const out = path.join(tmp, 'cli');
    const gen = cli(
      'generate',
      '--app',
      'supply',
      '--users',
      '2',
      '--count',
      '50',
      '--seed',
      '9',
      '--out',
      out,
      '--locale',
      'en_IN',
      '--edits',
      '5%',
      '--form-size',
      '3',
    );
    assert.equal(gen.code, 0, gen.stderr);
    assert.match(gen.stdout, /wrote 50 submissions .* for 2 workers/);
    assert.match(gen.stderr, /generate: 50\/50 forms \(100\.0%\)/);
    const ok = cli('generate', '--validate', out);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /checked 50 submissions in 2 files: 0 errors, 0 warnings: valid/);

    const bad = path.join(tmp, 'bad.xml');
    writeFileSync(
      bad,
      '<data xmlns="http://x"><n0:case xmlns:n0="http://commcarehq.org/case/transaction/v2" case_id="c1"><n0:create><n0:case_name>x</n0:case_name></n0:create></n0:case></data>',
    );
    const r = cli('generate', '--validate', bad);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(
        `${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error: case block #1 \\(case_id c1\\) at /data/case: create has no case_type`,
      ),
    );
    assert.match(r.stderr, /capacity: checked 1 submissions in 1 files: 1 errors/);

    appendFileSync(path.join(out, 'forms/w0001.ndjson'), '{"xml": 42}\n');
    const r2 = cli('generate', '--validate', out);
    assert.equal(r2.code, 1);
    assert.match(r2.stdout, /w0001\.ndjson:26: error: record has neither "xml" nor "body64"/);
    assert.match(r2.stdout, /w0001\.ndjson: error: holds 26 submissions, manifest.json says 25/);

    // population settings from a file (snake_case or camelCase); flags override it
    const cfg = path.join(tmp, 'population.yaml');
    writeFileSync(cfg, 'users: 4\ncase_load: 5\nformsPerDay: 20\ndomain: district-7\nmix: { register: 1, followup: 3, close: 1 }\n');
    const withCfg = cli('generate', '--config', cfg, '--users', '2', '--count', '10', '--out', path.join(tmp, 'cfg'), '--quiet');
    assert.equal(withCfg.code, 0, withCfg.stderr);
    const m = JSON.parse(readFileSync(path.join(tmp, 'cfg', 'manifest.json'), 'utf8')) as CorpusManifest;
    assert.equal(m.users, 2);
    assert.deepEqual([m.population.caseLoad, m.population.formsPerDay, m.population.domain], [5, 20, 'district-7']);
    assert.deepEqual(m.population.mix, { register: 1, followup: 3, close: 1 });
    writeFileSync(cfg, 'userz: 4\n');
    const badCfg = cli('generate', '--config', cfg, '--out', path.join(tmp, 'cfg2'));
    assert.equal(badCfg.code, 2);
    assert.match(badCfg.stderr, /--config .*population.yaml: unknown setting "userz"/);

    const usage = cli('generate', '--users', 'many', '--out', path.join(tmp, 'x'));
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr.trim(), 'capacity: --users must be a whole number of at least 1, not "many"');
  });

  it('loads apps from built-in names, YAML files and XForm folders', () => {
    assert.equal(loadApp('household').source, 'builtin:household');
    assert.equal(loadApp(path.join(ROOT, 'generators/apps/supply.yaml')).app.name, 'supply');
    const fromXForms = loadApp(path.join(ROOT, 'generators/testdata'), { subjectType: 'mother' });
    assert.deepEqual(fromXForms.app.forms.map((f) => f.id).sort(), ['close_mother', 'register_mother']);
    // --dump-app prints an app file that loads back to the same model
    const dump = cli('generate', '--app', path.join(ROOT, 'generators/testdata'), '--case-type', 'mother', '--dump-app');
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stderr, /warning: close_mother: \/data\/case\/update\/close_reason: calculate/);
    assert.deepEqual(parseAppText(dump.stdout, 'dump.yaml'), fromXForms.app);
    assert.throws(() => loadApp('nope'), /app "nope" is neither a built-in app \(household, supply\) nor an existing file or folder/);
  });
});
