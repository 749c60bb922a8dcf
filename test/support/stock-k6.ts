// Stock k6 (k6's own command, no extension), as the k6-operator's runner pods run it: for tests that must show a
// script runs without capacity's k6 build. Built from k6x/'s module (the same k6 release and dependencies, the
// build's flags, so Go reuses what the capacity build compiled) into the stack home, once.
import fs from 'node:fs';
import path from 'node:path';
import type { StackContext } from '../../stack/component.ts';
import { k6Build, k6xDir } from '../../stack/components/k6.ts';
import { versions } from '../../stack/config.ts';
import { run } from '../../stack/process.ts';

export async function stockK6(ctx: Pick<StackContext, 'paths'>): Promise<string> {
  const binary = path.join(ctx.paths.bin, `k6-${versions.k6}-stock`, 'k6');
  if (!fs.existsSync(binary)) {
    const tmp = `${path.dirname(binary)}.partial-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    await run('go', ['build', '-mod=readonly', '-trimpath', '-o', path.join(tmp, 'k6'), 'go.k6.io/k6'], {
      what: `go build of stock k6 ${versions.k6}`,
      env: { ...process.env, CGO_ENABLED: '0' },
      cwd: k6xDir,
      timeoutMs: 30 * 60_000,
    });
    fs.rmSync(path.dirname(binary), { recursive: true, force: true });
    fs.renameSync(tmp, path.dirname(binary));
  }
  const build = k6Build(binary);
  if (build.version !== versions.k6 || build.jsExtensions.length) throw new Error(`${binary} is not stock k6 ${versions.k6}`);
  return binary;
}
