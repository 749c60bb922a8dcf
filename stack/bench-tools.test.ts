import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { benchTools, locustVenv, locustVersionIn, pinnedLocustVersion, wrkVersion } from './bench-tools.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tools-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A venv as pip leaves it: bin/locust and the package's metadata folder. */
function fakeVenv(name: string, version: string | undefined, withBin = true): string {
  const venv = path.join(tmp, name);
  fs.mkdirSync(path.join(venv, 'lib', 'python3.11', 'site-packages', 'gevent-25.9.1.dist-info'), { recursive: true });
  if (version) fs.mkdirSync(path.join(venv, 'lib', 'python3.11', 'site-packages', `locust-${version}.dist-info`));
  fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
  if (withBin) fs.writeFileSync(path.join(venv, 'bin', 'locust'), '');
  return venv;
}

function script(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

describe('the benchmarks’ tools', () => {
  it('the pinned Locust version is an exact one, read from scripts/bench-requirements.txt', () => {
    assert.match(pinnedLocustVersion(), /^\d+\.\d+\.\d+$/);
    const req = path.join(tmp, 'req.txt');
    fs.writeFileSync(req, '# comment\nlocust==2.31.0 ; python_version >= "3.10"\n');
    assert.equal(pinnedLocustVersion(req), '2.31.0');
    fs.writeFileSync(req, 'locust>=2\n');
    assert.throws(() => pinnedLocustVersion(req), /pins no Locust version/);
  });

  it("reads Locust's version from the venv's package metadata", () => {
    assert.equal(locustVersionIn(fakeVenv('ok', '2.47.0')), '2.47.0');
    assert.equal(locustVersionIn(fakeVenv('none', undefined)), undefined);
    assert.equal(locustVersionIn(fakeVenv('half', '2.47.0', false)), undefined, 'no bin/locust: a half-made venv');
    assert.equal(locustVersionIn(path.join(tmp, 'absent')), undefined);
  });

  it("reads wrk's version from Debian's and upstream's banners; undefined when there is no wrk", () => {
    // wrk -v prints its banner and exits 1
    assert.equal(
      wrkVersion(script('wrk-debian', 'echo "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"; exit 1')),
      '4.1.0-3+b2',
    );
    assert.equal(wrkVersion(script('wrk-upstream', 'echo "wrk 4.2.0 [epoll] Copyright (C) 2012 Will Glozer"')), '4.2.0');
    assert.equal(wrkVersion(path.join(tmp, 'no-such-wrk')), undefined);
  });

  it('names Locust missing, found or at another version than the pin, under the given home', () => {
    const home = path.join(tmp, 'home');
    const wanted = pinnedLocustVersion();
    const locust = () => benchTools(home).find((t) => t.name === 'locust')!;
    assert.deepEqual(
      { ...locust(), command: undefined },
      { name: 'locust', version: undefined, wanted, command: undefined, ok: false, state: 'missing' },
    );
    const venv = locustVenv(home);
    assert.equal(venv, path.join(home, 'venv', 'locust'));
    const site = path.join(venv, 'lib', 'python3.11', 'site-packages');
    fs.mkdirSync(path.join(site, 'locust-1.2.3.dist-info'), { recursive: true });
    fs.mkdirSync(path.join(venv, 'bin'));
    fs.writeFileSync(path.join(venv, 'bin', 'locust'), '');
    assert.equal(locust().state, 'other version');
    assert.equal(locust().ok, false);
    fs.renameSync(path.join(site, 'locust-1.2.3.dist-info'), path.join(site, `locust-${wanted}.dist-info`));
    assert.equal(locust().state, 'found');
    assert.equal(locust().ok, true);
    assert.equal(locust().command, path.join(venv, 'bin', 'locust'));
  });
});
