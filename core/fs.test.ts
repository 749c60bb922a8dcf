import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from './fs.ts';

describe('writeFileAtomic', () => {
  it('makes the folders, replaces the file whole and leaves no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'a', 'b', 'x.json');
    writeFileAtomic(file, 'first');
    writeFileAtomic(file, Buffer.from('second'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'second');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.json']);
  });

  it('keeps the old content when the write cannot happen', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    const file = path.join(dir, 'x');
    writeFileAtomic(file, 'old');
    // a folder where the temporary file would go makes the write fail before the rename
    fs.mkdirSync(`${file}.${process.pid}.tmp`);
    assert.throws(() => writeFileAtomic(file, 'new'));
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
  });
});
