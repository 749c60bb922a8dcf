import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { stackPaths } from '../core/paths.ts';
import { BASE_IMAGE, IMAGE_NAMES, imageDefs, imageTag } from './images.ts';

const ctx = { paths: stackPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-images-'))) };

test('every image is defined on the bookworm base', () => {
  const defs = imageDefs(ctx);
  assert.deepEqual(defs.map((d) => d.name).sort(), [...IMAGE_NAMES].sort());
  for (const d of defs) assert.ok(d.files.Dockerfile!.startsWith(`FROM ${BASE_IMAGE}\n`), d.name);
});

test('an image tag changes with its inputs and the base, and only with them', () => {
  const redis = imageDefs(ctx).find((d) => d.name === 'redis')!;
  const tag = imageTag(redis, 'sha256:a');
  assert.match(tag, /^capacity\/redis:[0-9a-f]{16}$/);
  assert.equal(imageTag(redis, 'sha256:a'), tag);
  assert.notEqual(imageTag(redis, 'sha256:b'), tag);
  assert.notEqual(imageTag({ ...redis, files: { Dockerfile: redis.files.Dockerfile + '# x\n' } }, 'sha256:a'), tag);
});

test('a changed file of a copied tree changes the tag', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-tree-'));
  fs.mkdirSync(path.join(root, 'libs'));
  fs.writeFileSync(path.join(root, 'libs', 'a.jar'), 'one');
  const def = {
    name: 'kafka' as const,
    files: { Dockerfile: 'FROM x\n' },
    trees: [[root, ['libs']]] as [string, string[]][],
    treeKey: 'k',
  };
  const before = imageTag(def, 'b');
  fs.writeFileSync(path.join(root, 'libs', 'a.jar'), 'two');
  assert.notEqual(imageTag(def, 'b'), before);
});
