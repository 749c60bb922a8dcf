// Process control for the stack's own servers: started detached in their own process group, tracked by a
// pid file, and stopped only if the pid still belongs to the process we started (pids get reused).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/fs.ts';
import { maskUrlPasswords } from '../core/redact.ts';

export interface PidRecord {
  pid: number;
  name: string;
  /** A string that must appear in /proc/<pid>/cmdline for the pid to still be ours. */
  marker: string;
  logFile: string;
  startedAt: string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  runDir: string;
  logFile: string;
  marker: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

export function pidFile(runDir: string, name: string): string {
  return path.join(runDir, `${name}.pid.json`);
}

export function startDetached(opts: StartOptions): PidRecord {
  fs.mkdirSync(opts.runDir, { recursive: true });
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = fs.openSync(opts.logFile, 'a');
  if (opts.uid !== undefined) fs.fchownSync(fd, opts.uid, opts.gid ?? opts.uid);
  fs.writeSync(
    fd,
    `\n--- ${new Date().toISOString()} capacity starts ${opts.name}: ${maskUrlPasswords(`${opts.command} ${opts.args.join(' ')}`)}\n`,
  );
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', fd, fd],
    uid: opts.uid,
    gid: opts.gid,
  });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${opts.name}: ${opts.command} did not spawn`);
  child.unref();
  const rec: PidRecord = {
    pid: child.pid,
    name: opts.name,
    marker: opts.marker,
    logFile: opts.logFile,
    startedAt: new Date().toISOString(),
  };
  writeFileAtomic(pidFile(opts.runDir, opts.name), JSON.stringify(rec, null, 2));
  return rec;
}

export function readPidRecord(runDir: string, name: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(runDir, name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill 0; treat it as gone.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The live pid of a component we started, or undefined if it is not running (stale files are removed). */
export function ownedPid(runDir: string, name: string): number | undefined {
  const rec = readPidRecord(runDir, name);
  if (!rec) return undefined;
  if (isAlive(rec.pid) && cmdline(rec.pid).includes(rec.marker)) return rec.pid;
  return undefined;
}

/** All pids in the process group led by `pid` (the servers we start lead their own group). */
export function groupPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Resident memory of a process group in bytes, from /proc. */
export function groupRssBytes(pid: number): number {
  let total = 0;
  for (const p of groupPids(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM the component's process group, wait, then SIGKILL what is left. Returns whether it was running. */
export async function stopOwned(runDir: string, name: string, graceMs = 20_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = ownedPid(runDir, name);
  if (pid === undefined) {
    fs.rmSync(pidFile(runDir, name), { force: true });
    return false;
  }
  signalGroup(pid, signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupPids(pid).length > 0) await sleep(100);
  if (groupPids(pid).length > 0) {
    signalGroup(pid, 'SIGKILL');
    const hard = Date.now() + 5_000;
    while (Date.now() < hard && groupPids(pid).length > 0) await sleep(100);
  }
  fs.rmSync(pidFile(runDir, name), { force: true });
  return true;
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** The last lines of a log, passwords in URLs masked (logs written before they were masked at the source hold them). */
export function tailFile(file: string, lines = 20): string[] {
  try {
    const size = fs.statSync(file).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, buf, 0, len, size - len);
    fs.closeSync(fd);
    return maskUrlPasswords(buf.toString('utf8'))
      .split('\n')
      .filter((l) => l.length > 0)
      .slice(-lines);
  } catch {
    return [];
  }
}

/** Runs a command to completion; rejects with the tail of its output when it fails. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number; what: string; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      uid: opts.uid,
      gid: opts.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 1_200_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${opts.what} failed: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      const tail = out.trim().split('\n').slice(-15).join('\n  ');
      reject(new Error(`${opts.what} failed (${signal ? `killed by ${signal}` : `exit ${code}`}):\n  ${tail}`));
    });
  });
}
