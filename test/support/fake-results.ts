// A results directory with only what the audit reads from a run, for tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A results directory as a run leaves it: manifest, request log (one line per request), acks. */
export function fakeResults(lines: object[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-audit-'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
  fs.writeFileSync(path.join(dir, 'requests.ndjson'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\nk6 noise line\n`);
  const acks = lines.filter((l) => 'ack' in l).map((l) => JSON.stringify({ ack: (l as { ack: string }).ack, t: 1, w: 0 }));
  if (acks.length) fs.writeFileSync(path.join(dir, 'acks.ndjson'), `${acks.join('\n')}\n`);
  return dir;
}
