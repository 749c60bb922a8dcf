// Secrets (issue 14): every log, results file and report the suite produced is scanned for every password the suite
// used: PostgreSQL's, the demo workers', and each mobile worker's that a test gave the service (recorded through
// CAPACITY_SECRETS_RECORD, set by scripts/test.sh). Sorted after test/integration/, so it runs once they have.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { demoWorkers, DEMO_DOMAIN, fullUsername } from '../hq/users.ts';
import { defaultResultsRoot } from '../results-dir/index.ts';
import { loadStackContext } from '../stack/stack.ts';

interface Secret {
  user: string;
  password: string;
}

/** The suite's start (scripts/test.sh), else six hours ago: older temporary folders are not this suite's. */
const since = Number(process.env.CAPACITY_SUITE_STARTED ?? 0) * 1000 || Date.now() - 6 * 3600_000;
/** Temporary folders the tests make (mkdtemp prefixes). */
const TMP_PREFIXES = /^(capacity-|collectors-it-)/;
const MAX_FILE = 64 * 2 ** 20;

function secretsUsed(): Secret[] {
  const ctx = loadStackContext({});
  const out: Secret[] = [{ user: ctx.config.postgres.user, password: ctx.config.postgres.password }];
  for (const w of demoWorkers()) out.push({ user: fullUsername(w.username, DEMO_DOMAIN), password: w.password });
  const record = process.env.CAPACITY_SECRETS_RECORD;
  if (record && fs.existsSync(record)) {
    for (const line of fs.readFileSync(record, 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Secret);
  }
  const seen = new Set<string>();
  return out.filter((s) => s.password && !seen.has(`${s.user}\0${s.password}`) && seen.add(`${s.user}\0${s.password}`));
}

/**
 * What gives a password away in text. A long or mixed password is looked for as it is; a plain word (PostgreSQL's
 * "capacity" is also the user, the database owner and the project) only where it stands as a credential.
 */
function needles(s: Secret): string[] {
  const short = s.user.split('@')[0]!;
  const out = [
    `${s.user}:${s.password}`,
    `${short}:${s.password}`,
    `:${s.password}@`,
    `password=${s.password}`,
    `"password":"${s.password}"`,
    `password: ${s.password}`,
    `PGPASSWORD=${s.password}`,
  ];
  for (const pair of [`${s.user}:${s.password}`, `${short}:${s.password}`]) out.push(Buffer.from(pair).toString('base64'));
  if (s.password.length >= 10 || (/\d/.test(s.password) && /[a-z]/i.test(s.password) && s.password.length >= 6)) out.push(s.password);
  return out;
}

function filesUnder(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Every log of the stack, every results directory, and the temporary folders the suite's tests wrote. */
function producedFiles(): string[] {
  const ctx = loadStackContext({});
  const files: string[] = [];
  filesUnder(ctx.paths.logs, files);
  filesUnder(defaultResultsRoot(), files);
  for (const name of fs.readdirSync(os.tmpdir())) {
    const p = path.join(os.tmpdir(), name);
    if (!TMP_PREFIXES.test(name)) continue;
    try {
      if (fs.statSync(p).mtimeMs >= since) filesUnder(p, files);
    } catch {
      // gone meanwhile
    }
  }
  return files.filter((f) => f !== process.env.CAPACITY_SECRETS_RECORD);
}

describe('no password the suite used is in a log, a results file or a report', () => {
  it('scans everything the suite produced for every password', () => {
    const secrets = secretsUsed();
    const files = producedFiles();
    const found: string[] = [];
    let bytes = 0;
    for (const file of files) {
      let text: string;
      try {
        if (fs.statSync(file).size > MAX_FILE) continue;
        text = fs.readFileSync(file, 'latin1'); // bytes as they are: a password in a binary or a chart counts too
      } catch {
        continue;
      }
      bytes += text.length;
      for (const s of secrets) {
        const hit = needles(s).find((n) => text.includes(Buffer.from(n, 'utf8').toString('latin1')));
        if (hit) found.push(`${file}: the password of ${s.user}`);
      }
    }
    process.stderr.write(
      `secrets scan: ${secrets.length} passwords, ${files.length} files, ${Math.round(bytes / 1024)} KiB: ${found.length} found\n`,
    );
    assert.ok(files.length > 0, 'the stack has logs to scan');
    assert.deepEqual(found.slice(0, 20), []);
  });

  it('would find one (the scan itself works)', () => {
    const s: Secret = { user: 'capacity', password: 'capacity' };
    const line = 'capacity starts web: node web.ts --pg-url postgres://capacity:capacity@127.0.0.1:45432/commcarehq';
    assert.ok(needles(s).some((n) => line.includes(n)));
    assert.ok(!needles(s).some((n) => 'capacity starts web: node web.ts --pg-url postgres://capacity:***@127.0.0.1'.includes(n)));
    const w: Secret = { user: 'w1@d.commcarehq.org', password: 'Xk3j9s0aLq2z' };
    assert.ok(needles(w).some((n) => `Authorization: Basic ${Buffer.from('w1:Xk3j9s0aLq2z').toString('base64')}`.includes(n)));
  });
});
