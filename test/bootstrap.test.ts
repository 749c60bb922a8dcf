// scripts/bootstrap.sh, the first thing every command runs: one progress line per step, package managers' output in
// its log, and on failure the step, the log's path and its last lines. Run on a copy of scripts/ with apt-get, npm,
// dpkg-query and Python replaced by stand-ins that print as much as the real ones (this machine is not changed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const repo = path.resolve(import.meta.dirname, '..');
let dir: string;
let bin: string;

function stub(name: string, body: string): void {
  fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}

function boot(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync('bash', [path.join(dir, 'scripts', 'bootstrap.sh'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CAPACITY_HOME: '', CAPACITY_PYTHON: path.join(bin, 'python3'), ...env },
  });
  return { code: res.status, stdout: res.stdout, lines: res.stderr.split('\n').filter(Boolean) };
}

const log = () => path.join(dir, '.capacity', 'logs', 'bootstrap.log');
const installed = () => fs.writeFileSync(path.join(dir, 'node_modules', '.package-lock.json'), '{}');

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootstrap-test-'));
  bin = path.join(dir, 'stub-bin');
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  fs.mkdirSync(bin);
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const f of ['bootstrap.sh', 'system-packages.txt', 'bench-requirements.txt']) {
    fs.copyFileSync(path.join(repo, 'scripts', f), path.join(dir, 'scripts', f));
  }
  fs.writeFileSync(path.join(dir, 'package-lock.json'), '{}');
  // a package is installed unless it is named in MISSING
  stub('dpkg-query', 'pkg=${!#}; [[ " $MISSING " == *" $pkg "* ]] && exit 1; printf "install ok installed"');
  stub('id', 'echo "${AS_UID:-0}"');
  stub(
    'apt-get',
    [
      'echo "$*" >>"$CALLS"',
      'for i in $(seq 1 400); do echo "Unpacking libthing$i (1.$i) ..."; done',
      '[[ " $* " == *" install "* && -n "$FAIL_APT" ]] && { echo "E: Unable to locate package $FAIL_APT"; exit 100; }',
      'exit 0',
    ].join('\n'),
  );
  stub(
    'npm',
    'echo "npm $*" >>"$CALLS"; for i in $(seq 1 300); do echo "npm warn deprecated thing$i"; done; touch node_modules/.package-lock.json',
  );
  stub('systemctl', 'exit 0');
  stub('service', 'exit 0');
  // `python3 -m venv --clear DIR` makes a venv whose pip "installs" the pinned Locust
  stub(
    'python3',
    [
      'venv=${!#}; mkdir -p "$venv/bin"',
      'cat >"$venv/bin/pip" <<EOF',
      '#!/bin/bash',
      'echo "pip \\$*" >>"$CALLS"',
      'for i in \\$(seq 1 200); do echo "Collecting dep\\$i"; done',
      'ver=\\$(sed -n "s/^locust==//p" "\\${@: -1}")',
      'mkdir -p "$venv/lib/python3.11/site-packages/locust-\\$ver.dist-info" && touch "$venv/bin/locust"',
      'EOF',
      'chmod +x "$venv/bin/pip"',
    ].join('\n'),
  );
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scripts/bootstrap.sh', () => {
  it('prints nothing and writes no log when everything is in place', () => {
    installed();
    const r = boot([]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.lines, []);
    assert.equal(r.stdout, '');
    assert.equal(fs.existsSync(log()), false);
  });

  it("prints one line per step; apt's and npm's output go to the log", () => {
    fs.rmSync(path.join(dir, 'node_modules', '.package-lock.json'));
    const calls = path.join(dir, 'calls-1');
    const r = boot([], { MISSING: 'redis-server unzip wrk docker.io', CALLS: calls });
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.equal(r.stdout, '');
    assert.equal(r.lines.length, 3, r.lines.join('\n'));
    assert.match(r.lines[0]!, /^\[bootstrap\] updating the Debian package lists \.\.\. done \(\d+ s\)$/);
    // wrk is a benchmark tool: only --bench installs it; docker.io only --engine
    assert.match(r.lines[1]!, /^\[bootstrap\] installing 2 Debian package\(s\): redis-server unzip \.\.\. done \(\d+ s\)$/);
    assert.match(r.lines[2]!, /^\[bootstrap\] installing npm packages \(npm ci\) \.\.\. done \(\d+ s\)$/);
    const text = fs.readFileSync(log(), 'utf8');
    assert.ok(text.split('\n').length > 1000, 'the package managers wrote to the log');
    assert.match(text, /Unpacking libthing400/);
    assert.match(text, /npm warn deprecated thing300/);
    assert.match(fs.readFileSync(calls, 'utf8'), /install -y --no-install-recommends redis-server unzip\n/);
  });

  it('--bench adds wrk and python3-venv, and Locust at the pinned version in a venv under .capacity/', () => {
    const pin = /^locust==(\S+)/m.exec(fs.readFileSync(path.join(repo, 'scripts', 'bench-requirements.txt'), 'utf8'))![1]!;
    const calls = path.join(dir, 'calls-2');
    const r = boot(['--bench'], { MISSING: 'wrk python3-venv', CALLS: calls });
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.deepEqual(
      r.lines.map((l) => l.replace(/ \.\.\. done \(\d+ s\)$/, '')),
      [
        '[bootstrap] updating the Debian package lists',
        '[bootstrap] installing 2 Debian package(s): wrk python3-venv',
        `[bootstrap] creating a Python venv for Locust (${path.join(dir, '.capacity', 'venv', 'locust')})`,
        `[bootstrap] installing Locust ${pin} (pip)`,
      ],
    );
    const venv = path.join(dir, '.capacity', 'venv', 'locust');
    assert.ok(fs.existsSync(path.join(venv, 'lib', 'python3.11', 'site-packages', `locust-${pin}.dist-info`)));
    assert.match(fs.readFileSync(calls, 'utf8'), /pip install .*-r scripts\/bench-requirements\.txt/);
    // in place now: silent
    assert.deepEqual(boot(['--bench']).lines, []);
  });

  it('--engine adds docker.io and debootstrap, and leaves an engine that answers alone', () => {
    const calls = path.join(dir, 'calls-engine');
    // the engine answers: dockerd must not be started again
    stub('docker', 'echo "docker $*" >>"$CALLS"; exit 0');
    stub('dockerd', 'echo dockerd >>"$CALLS"; exit 0');
    const r = boot(['--engine'], { MISSING: 'docker.io debootstrap wrk', CALLS: calls });
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.deepEqual(
      r.lines.map((l) => l.replace(/ \.\.\. done \(\d+ s\)$/, '')),
      ['[bootstrap] updating the Debian package lists', '[bootstrap] installing 2 Debian package(s): docker.io debootstrap'],
    );
    const called = fs.readFileSync(calls, 'utf8');
    assert.match(called, /docker info/);
    assert.doesNotMatch(called, /^dockerd$/m);
    // without --engine the engine is not even asked
    fs.rmSync(calls);
    assert.equal(boot([], { CALLS: calls }).code, 0);
    assert.equal(fs.existsSync(calls), false);
  });

  it('on failure names the step, the log and its last lines, and goes no further', () => {
    fs.rmSync(path.join(dir, 'node_modules', '.package-lock.json'));
    const calls = path.join(dir, 'calls-3');
    const r = boot([], { MISSING: 'chromium', FAIL_APT: 'chromium', CALLS: calls });
    assert.equal(r.code, 1);
    assert.match(r.lines[1]!, /^\[bootstrap\] installing 1 Debian package\(s\): chromium \.\.\. FAILED \(exit 100\)$/);
    assert.equal(
      r.lines[2],
      `bootstrap: step failed: installing 1 Debian package(s): chromium; its output is in ${log()}; the last lines:`,
    );
    assert.equal(r.lines.at(-1), '  | E: Unable to locate package chromium');
    assert.ok(r.lines.length <= 3 + 15, `at most 15 lines of the log (${r.lines.length} lines)`);
    assert.doesNotMatch(fs.readFileSync(calls, 'utf8'), /npm/, 'npm did not run after the failed step');
    installed();
  });

  it('as a user other than root, names the missing packages and the command in two lines', () => {
    const r = boot([], { MISSING: 'nginx-light', AS_UID: '1000' });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines, [
      'capacity: missing Debian packages: nginx-light',
      'capacity: install them with: sudo apt-get install -y nginx-light',
    ]);
  });

  it('refuses an unknown option in one line', () => {
    const r = boot(['--benchh']);
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines, ["bootstrap: unknown option '--benchh' (known: --bench, --engine)"]);
  });
});
