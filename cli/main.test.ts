// Issue 14: what the CLI answers to a careless user: usage errors exit 2, lengths of 0 are refused while the
// flags are read, a YAML alias bomb and `plan --vars` name the right file and flag. In process, no stack needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cli } from '../test/support/cli.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-cli-'));

describe('usage errors exit 2, as the help promises', () => {
  for (const args of [['nosuchcommand'], ['run', 'steady', '--nosuchflag'], ['gate'], ['topology', 'show'], []]) {
    it(`capacity ${args.join(' ') || '(nothing)'}`, async () => {
      const r = await cli(...args);
      assert.equal(r.code, 2, r.stderr);
    });
  }
  it('--help and --version still exit 0', async () => {
    assert.equal((await cli('--help')).code, 0);
    assert.equal((await cli('--version')).code, 0);
  });
});

describe('a length of 0 fails while the flags are read', () => {
  const cases: [string[], RegExp][] = [
    [['run', 'steady', '--duration', '0'], /--duration must be longer than 0, not "0"/],
    [['run', 'steady', '--interval', '0s'], /--interval must be longer than 0, not "0s"/],
    [['run', 'restore-storm', '--window', '0'], /--window must be longer than 0/],
    [['collect', '--duration', '0'], /--duration must be longer than 0/],
    [['collect', '--interval', '0ms'], /--interval must be longer than 0/],
    [['k8s', 'manifest', 'steady', '--duration', '0'], /--duration must be longer than 0/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await cli(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }
});

describe("the stack's counts from the environment: a bad one is one line, exit 2", () => {
  // a process of its own: the counts were once read while the modules loaded, before the CLI could catch anything
  const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
  for (const name of ['CAPACITY_CELERY_WORKERS', 'CAPACITY_CELERY_MAX_TASKS_PER_CHILD']) {
    it(`${name}=x capacity stack status`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', entry, 'stack', 'status'], {
        env: { ...process.env, [name]: 'x' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^capacity: ${name}=x: expected a whole number from [01] to 64\\n$`));
    });
  }
});

describe('generate --validate: what HQ refuses is invalid', () => {
  const form = (body: string, prolog = '') =>
    `${prolog}<data xmlns="http://example.org/f"><meta xmlns="http://openrosa.org/jr/xforms"><instanceID>i</instanceID></meta>${body}</data>`;
  const cases: [string, string | Buffer, RegExp][] = [
    ['a DTD internal entity', form('<x>&hi;</x>', '<!DOCTYPE data [<!ENTITY hi "X">]>'), /DOCTYPE is not accepted/],
    ['a NUL byte', form('<x>a\u0000b</x>'), /U\+0000/],
    ['&#0;', form('<x>&#0;</x>'), /character reference &#0;/],
    ['an undefined entity', form('<x>&nope;</x>'), /entity &nope; is not defined/],
    ['an undeclared prefix', form('<q:x/>'), /prefix "q"/],
    ['invalid UTF-8', Buffer.from(form('<x>\u00ff</x>'), 'latin1'), /not valid UTF-8/],
  ];
  for (const [what, content, message] of cases) {
    it(what, async () => {
      const file = path.join(tmp(), 'form.xml');
      fs.writeFileSync(file, content);
      const r = await cli('generate', '--validate', file);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, message);
      assert.match(r.stderr, /1 errors/);
    });
  }
});

describe('YAML and sizing configs name the file', () => {
  it('a YAML alias bomb is refused naming the file, in one line', async () => {
    const dir = tmp();
    const file = path.join(dir, 'bomb.yml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    fs.writeFileSync(file, `${levels.join('\n')}\n`);
    for (const args of [
      ['topology', 'show', file],
      ['plan', file],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^capacity: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not usable YAML: .*alias`));
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  it('plan --vars nosuch names --vars, not --set', async () => {
    const r = await cli('plan', path.resolve(import.meta.dirname, '../reports/sizing/examples/seed-multi-vm.yml'), '--vars', 'nosuch');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--vars nosuch/);
    assert.doesNotMatch(r.stderr, /--set/);
  });
});

describe("run's project space", () => {
  const seed = 'topology/examples/seed-multi-vm.yaml'; // its target names domain demo
  it("is the --topology file's target domain unless --domain is given, else capacity-load", async () => {
    const fromTopology = await cli('run', 'steady', '--topology', seed, '--dry-run');
    assert.equal(fromTopology.code, 0, fromTopology.stderr);
    assert.match(fromTopology.stdout, /domain demo\b/);
    const given = await cli('run', 'steady', '--topology', seed, '--domain', 'other', '--dry-run');
    assert.match(given.stdout, /domain other\b/);
    const none = await cli('run', 'steady', '--dry-run');
    assert.match(none.stdout, /domain capacity-load\b/);
  });
});
