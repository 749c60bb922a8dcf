// A guard for runs that must treat the stack as remote: the command runs under strace (every process it starts,
// k6 included), and every file path any of them touches is checked. The local stack's files (anything in the
// capacity home but the tool's own k6 build, caches, corpora and private folder) and /proc (but a process's own
// entries, kernel settings, and MemAvailable for k6's memory estimate of this machine) are violations.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StackPaths } from '../../core/paths.ts';

export interface GuardedResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** `pid path` of every forbidden touch, in order */
  violations: string[];
  /** paths checked */
  checked: number;
}

/** Paths in a strace line: the quoted strings of a file syscall. */
function pathsOf(line: string): string[] {
  const m = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
  if (!m) return [];
  return [...m[3]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => q[1]!.replace(/\\"/g, '"'));
}

/** Why `p` is not the run's to read (undefined when it is); `program` is what the process runs. */
export function forbidden(p: string, home: StackPaths, tracedPids: Set<string>, program = ''): string | undefined {
  // k6 counts this machine's CPUs when it starts (the load generator's, not the stack's)
  if (/\/k6(\s|$)/.test(program) && (p === '/proc' || p === '/proc/stat')) return undefined;
  if (p === '/proc' || p.startsWith('/proc/')) {
    const rest = p.slice('/proc/'.length);
    const first = rest.split('/')[0] ?? '';
    // own entries, kernel settings, MemAvailable (k6's memory estimate), and the kernel's list of filesystem types
    // that libraries probe (fontconfig, libselinux): none of them says anything about the stack
    if (first === 'self' || first === 'thread-self' || first === 'sys' || rest === 'meminfo' || rest === 'filesystems') return undefined;
    if (/^\d+$/.test(first) && tracedPids.has(first)) return undefined;
    return 'reads /proc';
  }
  const h = home.home;
  if (p === h || !p.startsWith(`${h}/`)) return undefined;
  const own = [home.bin, path.join(h, 'cache'), path.join(h, 'corpora'), path.join(h, 'private')];
  if (own.some((d) => p === d || p.startsWith(`${d}/`))) return undefined;
  return "touches the local stack's files";
}

/** Every forbidden path in an `strace -f` log, each named with the program of the process that touched it. */
export function judgeTrace(lines: string[], cwd: string, home: StackPaths): { violations: string[]; checked: number } {
  const pids = new Set(lines.map((l) => /^(\d+)\s/.exec(l)?.[1]).filter((p): p is string => !!p));
  // which program each process (and thread) runs: a clone inherits its parent's until it execs another
  const programs = new Map<string, string>();
  // under load strace splits a call in two (`<unfinished ...>`, then `<... execve resumed>`): the program is known
  // only when the second half says it succeeded
  const pendingExec = new Map<string, string>();
  const violations: string[] = [];
  let checked = 0;
  for (const line of lines) {
    const pid = /^(\d+)\s/.exec(line)?.[1] ?? '?';
    const exec = /^\d+\s+execve\("[^"]+", \[(.*?)\]/.exec(line);
    if (exec) {
      const program = exec[1]!.split(', ').slice(0, 3).join(' ').replace(/"/g, '');
      if (/ = 0$/.test(line)) programs.set(pid, program);
      else if (/<unfinished \.\.\.>$/.test(line)) pendingExec.set(pid, program);
    }
    if (/^\d+\s+<\.\.\. execve resumed>/.test(line)) {
      const program = pendingExec.get(pid);
      pendingExec.delete(pid);
      if (program !== undefined && / = 0$/.test(line)) programs.set(pid, program);
    }
    const cloned = /(?:\b(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) resumed>).* = (\d+)$/.exec(line);
    if (cloned) {
      if (!programs.has(cloned[1]!)) programs.set(cloned[1]!, programs.get(pid) ?? '');
      continue;
    }
    for (const p of pathsOf(line)) {
      checked++;
      const abs = path.resolve(cwd, p);
      const why = forbidden(abs, home, pids, programs.get(pid));
      if (why) violations.push(`${pid} (${programs.get(pid) || 'unknown'}) ${why}: ${line.slice(0, 160)}`);
    }
  }
  return { violations, checked };
}

/** Runs `cmd args` under strace -f and lists every forbidden path any of its processes touched. */
export async function runGuarded(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; home: StackPaths; timeoutMs?: number },
): Promise<GuardedResult> {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-guard-')), 'strace.log');
  // %file: every syscall that takes a path (open, stat, access, readlink, execve...); seccomp-bpf keeps the others untraced and cheap
  const child = spawn(
    'strace',
    ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=%file,clone,clone3,fork,vfork', '-e', 'signal=none', '-s', '4096', '-o', log, cmd, ...args],
    { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGINT'), opts.timeoutMs ?? 600_000);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(timer);
  const { violations, checked } = judgeTrace(fs.readFileSync(log, 'utf8').split('\n'), opts.cwd, opts.home);
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  return { code, stdout, stderr, violations, checked };
}
