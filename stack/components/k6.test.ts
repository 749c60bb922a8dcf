import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { versions } from '../config.ts';
import { stackPaths } from '../../core/paths.ts';
import { k6Binary, k6Build, k6xDigest, k6xDir } from './k6.ts';

describe("capacity's k6 build (k6x/)", () => {
  it('requires the k6 release the stack pins', () => {
    const mod = fs.readFileSync(path.join(k6xDir, 'go.mod'), 'utf8');
    assert.equal(/^\s*(?:require )?go\.k6\.io\/k6 (v\S+)$/m.exec(mod)?.[1], versions.k6);
    assert.match(
      fs.readFileSync(path.join(k6xDir, 'go.sum'), 'utf8'),
      new RegExp(`^go\\.k6\\.io/k6 ${versions.k6.replaceAll('.', '\\.')} `, 'm'),
    );
  });

  it('is named by its sources: an extension change builds anew, a test change does not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k6x-digest-'));
    try {
      fs.cpSync(k6xDir, dir, { recursive: true });
      const before = k6xDigest(dir);
      assert.equal(before, k6xDigest(k6xDir), 'the same sources, the same name');
      fs.appendFileSync(path.join(dir, 'submit', 'submit_test.go'), '\n// a comment\n');
      assert.equal(k6xDigest(dir), before);
      fs.appendFileSync(path.join(dir, 'submit', 'submit.go'), '\n// a comment\n');
      assert.notEqual(k6xDigest(dir), before);
      assert.match(k6Binary({ paths: stackPaths('/tmp/capx') }), new RegExp(`/tmp/capx/bin/k6-${versions.k6}-capacity-${k6xDigest()}/k6$`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the release and the JavaScript extensions from one `k6 version`', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k6x-version-'));
    try {
      const fake = path.join(dir, 'k6');
      fs.writeFileSync(
        fake,
        `#!/bin/sh\nprintf 'k6 v1.8.1 (go1.26.8, linux/amd64)\\nExtensions:\\n  capacity/k6x/submit , k6/x/capacity [js]\\n  example.com/out , xk6-out [output]\\n'\n`,
        { mode: 0o755 },
      );
      assert.deepEqual(k6Build(fake), { version: 'v1.8.1', jsExtensions: ['k6/x/capacity'] });
      fs.writeFileSync(fake, `#!/bin/sh\necho 'k6 v1.8.1 (go1.26.8, linux/amd64)'\n`, { mode: 0o755 });
      assert.deepEqual(k6Build(fake), { version: 'v1.8.1', jsExtensions: [] }, 'stock k6');
      assert.deepEqual(k6Build(path.join(dir, 'missing')), { jsExtensions: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the extension's Go tests pass (request lines as the scenarios write them, HQ's success, k6's expected statuses)", () => {
    // the flags of the build (stack/components/k6.ts), so the test reuses its compiled packages
    const res = spawnSync('go', ['test', '-mod=readonly', '-trimpath', './...'], {
      cwd: k6xDir,
      encoding: 'utf8',
      env: { ...process.env, CGO_ENABLED: '0' },
      timeout: 600_000,
    });
    assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`.slice(-3000));
    assert.match(res.stdout, /^ok\s+capacity\/k6x\/submit/m);
  });
});
