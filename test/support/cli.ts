// The CLI run in the test's own process (no tsx start-up per call), its output captured.
import { main } from '../../cli/main.ts';

/** Runs the CLI in this process; what it printed on stderr, and its exit code. */
export async function cli(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const err = process.stderr.write.bind(process.stderr);
  const out = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  const before = process.exitCode;
  try {
    const code = await main(['node', 'capacity', ...args]);
    return { code, stderr, stdout };
  } finally {
    process.stderr.write = err;
    process.stdout.write = out;
    process.exitCode = before;
  }
}
