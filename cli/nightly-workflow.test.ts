// The nightly workflow parses and calls only what exists: scripts, commands and their options, the baseline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import YAML from 'yaml';
import { buildProgram } from './main.ts';
import { requireDuration } from '../core/duration.ts';
import { repoRoot } from '../core/paths.ts';
import { loadBaseline } from '../gates/baseline.ts';

const file = path.join(repoRoot, '.github', 'workflows', 'nightly.yml');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}

function workflow(): {
  on: Record<string, unknown>;
  jobs: Record<string, { steps: Step[]; env?: Record<string, string>; container?: { image: string } }>;
} {
  const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(doc.errors, [], 'nightly.yml parses');
  return doc.toJS();
}

/** `./capacity a b --x v --y` -> the command path and the flags, from every line of a run block. */
function capacityCalls(run: string): { words: string[]; flags: string[]; line: string }[] {
  const out: { words: string[]; flags: string[]; line: string }[] = [];
  for (const line of run.split('\n')) {
    const m = /\.\/capacity\s+([^|;&]*)/.exec(line);
    if (!m) continue;
    const tokens = m[1]!
      .trim()
      .split(/\s+/)
      .filter((t) => !t.startsWith('>') && !t.startsWith('2>'));
    const words: string[] = [];
    for (const t of tokens) {
      if (t.startsWith('-') || t.startsWith('"') || t.startsWith('$')) break;
      words.push(t);
    }
    out.push({ words, flags: tokens.filter((t) => t.startsWith('--')).map((t) => t.split('=')[0]!), line });
  }
  return out;
}

function findCommand(program: Command, words: string[]): { cmd: Command; args: string[] } {
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === words[i]);
    if (!sub) break;
    cmd = sub;
  }
  assert.notEqual(cmd, program, `capacity ${words.join(' ')} is a command`);
  return { cmd, args: words.slice(i) };
}

describe('.github/workflows/nightly.yml', () => {
  const wf = workflow();
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);

  it('runs every night and on demand', () => {
    const schedule = wf.on.schedule as { cron: string }[];
    assert.equal(schedule[0]!.cron.trim().split(/\s+/).length, 5);
    assert.ok('workflow_dispatch' in wf.on);
  });

  it('uses released versions of actions, and the scripts it runs exist', () => {
    for (const s of steps.filter((x) => x.uses)) assert.match(s.uses!, /^actions\/[\w-]+@v\d+$/, `${s.uses} is a pinned official action`);
    const runs = steps.map((s) => s.run ?? '').join('\n');
    for (const m of runs.matchAll(/(?:^|\s)((?:scripts|bench|gates)\/[\w./-]+)/g)) {
      const p = path.join(repoRoot, m[1]!);
      assert.ok(fs.existsSync(p), `${m[1]} exists`);
      if (p.endsWith('.sh')) assert.ok(fs.statSync(p).mode & 0o111, `${m[1]} is executable`);
    }
    assert.ok(fs.statSync(path.join(repoRoot, 'capacity')).mode & 0o111, './capacity is executable');
  });

  it('calls only capacity commands and options that exist', () => {
    const program = buildProgram();
    const calls = steps.flatMap((s) => capacityCalls(s.run ?? ''));
    const names = calls.map((c) => c.words.join(' '));
    for (const needed of ['stack up', 'run steady', 'gate', 'report', 'stack down'])
      assert.ok(
        names.some((n) => n.startsWith(needed)),
        `calls capacity ${needed}`,
      );
    for (const c of calls) {
      const { cmd } = findCommand(program, c.words);
      const known = new Set([
        '--help',
        ...cmd.options.flatMap((o) => [o.long, o.negate ? o.long : undefined]).filter((x): x is string => !!x),
      ]);
      for (const f of c.flags) assert.ok(known.has(f), `capacity ${c.words.join(' ')} has ${f} (${c.line.trim()})`);
    }
    // the report is made only when the command exists in the checkout
    const reportStep = steps.find((s) => s.run?.includes('./capacity report "'))!;
    assert.match(reportStep.run!, /if \.\/capacity report --help/);
  });

  it('gates against a committed baseline made with the parameters the nightly run uses', () => {
    const job = Object.values(wf.jobs)[0]!;
    const baselineFile = job.env!.BASELINE!;
    const b = loadBaseline(path.join(repoRoot, baselineFile));
    const run = steps.find((s) => s.run?.includes('./capacity run '))!.run!;
    const flag = (name: string) => new RegExp(`--${name} (\\S+)`).exec(run)?.[1];
    assert.equal(b.run.scenario, 'steady');
    assert.match(run, /capacity run steady/);
    const shape = b.run.parameters.shape as { rate: number; durationS: number };
    assert.equal(shape.rate, Number(flag('rate')));
    assert.equal(b.run.parameters.users, Number(flag('users')));
    assert.equal(b.run.parameters.collectIntervalMs, requireDuration(flag('interval')!));
    assert.match(job.env!.DURATION!, /'60s'/);
    assert.equal(shape.durationS, 60);
    for (const kind of ['throughput', 'latency.receiver.p95', 'error_rate', 'pillow.', 'liveness.p95_ms']) {
      assert.ok(
        Object.keys(b.metrics).some((id) => id.startsWith(kind)),
        `the baseline has ${kind}`,
      );
    }
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    assert.equal(upload.if, 'always()');
    assert.match(String(upload.with!.path), /RESULTS_ROOT/);
  });
});
