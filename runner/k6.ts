// Runs k6 as a child process: output passed through (live progress) and kept in k6.log; Ctrl-C asks k6 to
// stop gracefully (it still writes its summary), a second Ctrl-C kills it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export interface K6RunOptions {
  binary: string;
  script: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** Where to echo k6's own progress lines (stderr by default; none when quiet). */
  echo?: (chunk: string) => void;
}

export interface K6RunResult {
  exitCode: number;
  interrupted: boolean;
}

/** k6's documented exit codes that mean something to a run. */
export const K6_EXIT = { ok: 0, thresholdsFailed: 99, externalAbort: 105, scriptAborted: 107, thresholdsAbort: 99 } as const;

const PROGRESS_LINE = /^(running \(|\S+\s+[✓✗↓]?\s*\[\s*\d+%\s*\])/;

/**
 * Without a terminal k6 prints a block of progress lines every second; a CI log wants one every `everyMs`.
 * Everything else (warnings, the end-of-test summary) passes through untouched.
 */
export function throttleProgress(echo: (chunk: string) => void, everyMs = 10_000, now = () => Date.now()): (chunk: string) => void {
  let last = -Infinity;
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    const out: string[] = [];
    let progressAllowed = false;
    for (const line of lines) {
      if (PROGRESS_LINE.test(line.trim())) {
        if (!progressAllowed && now() - last >= everyMs) {
          progressAllowed = true;
          last = now();
        }
        if (progressAllowed) out.push(line);
      } else {
        out.push(line);
      }
    }
    if (out.length) echo(`${out.join('\n')}\n`);
  };
}

export function runK6(opts: K6RunOptions): Promise<K6RunResult> {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(opts.logFile, 'a');
    const child = spawn(opts.binary, ['run', ...opts.args, opts.script], {
      env: { ...process.env, ...opts.env, K6_NO_USAGE_REPORT: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let interrupted = false;
    const onSigint = () => {
      if (!interrupted) {
        interrupted = true;
        process.stderr.write('\n[run] stopping k6 (Ctrl-C again to kill it); what was measured is kept\n');
        child.kill('SIGINT');
      } else {
        child.kill('SIGKILL');
      }
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    const echo = opts.echo && !process.stderr.isTTY ? throttleProgress(opts.echo) : opts.echo;
    const pass = (d: Buffer) => {
      fs.writeSync(log, d);
      echo?.(d.toString('utf8'));
    };
    child.stdout.on('data', pass);
    child.stderr.on('data', pass);
    child.on('error', (err) => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      fs.closeSync(log);
      reject(new Error(`could not run k6 (${opts.binary}): ${err.message}`));
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      fs.closeSync(log);
      resolve({ exitCode: code ?? (signal ? 128 + 9 : 1), interrupted });
    });
  });
}
