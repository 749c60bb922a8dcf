import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Population } from '../../generators/population.ts';
import { builtin, fnv1a } from '../../generators/testing.ts';
import { writeCorpus } from '../../generators/node/corpus.ts';
import { buildK6Bundle, GENERATORS_ENTRY } from '../../generators/node/k6-bundle.ts';
import { k6, k6Binary } from '../../stack/components/k6.ts';
import { loadStackContext } from '../../stack/stack.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'capacity-k6-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// capacity's own k6 build (the integration tests' stack installs it)
const ctx = loadStackContext();
const k6bin = k6.isInstalled(ctx) ? k6Binary(ctx) : undefined;
const bundleOf = (outFile: string) => buildK6Bundle({ entry: GENERATORS_ENTRY, outFile, builtinApps: true });

// Runs inside k6: generates with the bundle, reads back with the bundle's reader, and reports fingerprints.
const SCRIPT = (bundle: string, out: string) => `
import { check } from 'k6';
import * as gen from '${bundle}';

export const options = { thresholds: { checks: ['rate==1'] } };
const target = { baseUrl: 'http://localhost:1', domain: 'k6-test' };
const pop = gen.createPopulation({ app: 'household', users: 4, seed: 42, domain: 'k6-test', duplicates: 0.05, edits: 0.05 });

export default function () {
  const w = pop.worker((__ITER) % pop.size);
  const req = w.nextSubmissionRequest(target);
  const read = gen.readSubmission(req.submission.xml);
  const rr = w.nextRestoreRequest(target);
  check(req, {
    'multipart body is an ArrayBuffer': (r) => r.body instanceof ArrayBuffer && r.body.byteLength > req.submission.xml.length,
    'reads back': () => read.meta.instanceID === req.submission.instanceID && read.cases.length === req.submission.cases.length,
    'restore url': () => rr.url.indexOf('/a/k6-test/phone/restore/?version=2.0&device_id=') > 0 && rr.headers.Authorization.indexOf('Basic ') === 0,
  });
}

${fnv1a.toString()}

export function handleSummary() {
  const result = {};
  for (const app of ['household', 'supply']) {
    const p = gen.createPopulation({ app, users: 3, seed: 42, locale: 'en_IN', duplicates: 0.05, edits: 0.05 });
    const t = p.worker(2).timeline;
    const xs = [];
    for (let i = 0; i < 150; i++) xs.push(t.next().xml);
    result[app] = { fp: fnv1a(xs), cases: xs.map((x) => gen.readSubmission(x).cases.length).reduce((a, b) => a + b, 0) };
  }
  return { '${out}': JSON.stringify(result) };
}
`;

describe('k6 bundle', () => {
  it("capacity's k6 build is installed (the stack installs it)", () => assert.ok(k6bin, 'no k6 build: run `capacity stack up`'));

  it('builds into one ES module without Node APIs', async () => {
    const { outFile, bytes } = await bundleOf(path.join(tmp, 'generators.k6.js'));
    const code = readFileSync(outFile, 'utf8');
    assert.ok(bytes > 100_000);
    assert.doesNotMatch(code, /from\s*["']node:|require\(["'](fs|crypto|buffer)["']\)/, 'no Node modules in the bundle');
    assert.match(code, /household/, 'built-in apps embedded');
  });

  it('runs inside k6 and produces exactly the bytes Node produces for the same seed', async () => {
    const bundle = path.join(tmp, 'generators.k6.js');
    await bundleOf(bundle);
    const script = path.join(tmp, 'gen-test.js');
    const out = path.join(tmp, 'k6-result.json');
    writeFileSync(script, SCRIPT(bundle, out));
    const r = spawnSync(k6bin!, ['run', '--quiet', '--no-usage-report', '--address', '', '--iterations', '20', script], {
      encoding: 'utf8',
      timeout: 180_000,
      cwd: tmp,
    });
    assert.equal(r.status, 0, `k6 exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    const k6Result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, { fp: string; cases: number }>;
    for (const app of ['household', 'supply']) {
      const t = new Population(builtin(app), { users: 3, seed: 42, locale: 'en_IN', duplicates: 0.05, edits: 0.05 }).timeline(2);
      const xs = Array.from({ length: 150 }, () => t.next().xml);
      assert.equal(k6Result[app]!.fp, fnv1a(xs), `${app}: k6 and Node generate the same bytes`);
      assert.ok(k6Result[app]!.cases > 100);
    }
  });

  it('k6 reads a corpus written by capacity generate (SharedArray + parseCorpusFile + corpusRequestBody)', async () => {
    const bundle = path.join(tmp, 'generators.k6.js');
    await bundleOf(bundle);
    for (const multipart of [false, true]) {
      const dir = path.join(tmp, `corpus-${multipart}`);
      await writeCorpus({
        app: builtin('household'),
        appSource: 'household',
        population: { users: 3, seed: 3 },
        count: 30,
        out: dir,
        multipart,
      });
      const script = path.join(tmp, `corpus-${multipart}.js`);
      writeFileSync(
        script,
        `
import { SharedArray } from 'k6/data';
import * as gen from '${bundle}';
export const options = { vus: 3, iterations: 30, thresholds: { checks: ['rate==1'] } };
const users = JSON.parse(open('${dir}/users.json'));
// k6 only lets VUs open files the first init (__VU == 0) opened: declare every worker's SharedArray
// (each file is read once, then shared); a VU then plays one worker, in order.
const corpus = users.map((u) => new SharedArray(u.file, () => gen.parseCorpusFile(open('${dir}/' + u.file))));
let i = 0;
export function handleSummary() { return {}; }
export default function () {
  const me = users[(__VU - 1) % users.length];
  const forms = corpus[me.index];
  const rec = forms[i++ % forms.length];
  const { body, contentType } = gen.corpusRequestBody(rec);
  const xml = typeof body === 'string' ? body : gen.xmlFromMultipart(new Uint8Array(body), contentType).xml;
  const sub = gen.readSubmission(xml);
  check(sub, {
    'record matches its form': (s) => s.meta.instanceID === rec.instanceID && s.meta.username === me.username,
    'content type': () => contentType.indexOf(${multipart} ? 'multipart/form-data; boundary=' : 'text/xml') === 0,
    'ten forms per worker': () => forms.length === 10,
  });
}
`,
      );
      const r = spawnSync(k6bin!, ['run', '--quiet', '--no-usage-report', '--address', '', script], {
        encoding: 'utf8',
        timeout: 180_000,
        cwd: tmp,
      });
      assert.equal(r.status, 0, `k6 (multipart=${multipart}) exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    }
  });
});
