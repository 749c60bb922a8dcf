// How long the container images take to build on a machine that never built them, and warm: every image built again
// with the engine's layer cache unused, under throw-away tags (capacity-measure/<name>:cold, removed afterwards), so
// the tags stacks use are never touched; then `buildImages` as `stack up --containers` calls it. With `--base`, also
// debootstrap of the base rootfs into a temporary folder (what a machine without a registry does first).
// Run: node --import tsx bench/image-builds.ts [--base]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../docker/engine.ts';
import { buildImages, buildOne, debianMirror, imageDefs } from '../docker/images.ts';
import { toolContext } from '../stack/stack.ts';

const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);
const client = docker();
const ctx = toolContext();
const log = (m: string) => console.log(m);

if (process.argv.includes('--base')) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-debootstrap-'));
  const t0 = Date.now();
  const res = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', dir, debianMirror()], { encoding: 'utf8' });
  console.log(`base: debootstrap --variant=minbase bookworm ${res.status === 0 ? 'took' : 'FAILED after'} ${secs(t0)} s`);
  fs.rmSync(dir, { recursive: true, force: true });
}

let total = 0;
await buildImages({ log, ctx }, client); // the artifacts and base in place first: only the builds are timed below
for (const def of imageDefs(ctx)) {
  const tag = `capacity-measure/${def.name}:cold`;
  const t0 = Date.now();
  await buildOne(def, tag, { ctx, noCache: true }, client);
  total += Date.now() - t0;
  console.log(`cold ${def.name}: ${secs(t0)} s`);
  await client.getImage(tag).remove();
}
console.log(`cold builds, all images: ${(total / 1000).toFixed(1)} s`);
const t0 = Date.now();
const warm = await buildImages({ log, ctx }, client);
console.log(`warm buildImages (nothing to build: ${warm.built.length === 0}): ${secs(t0)} s`);
