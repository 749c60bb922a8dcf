// JUnit XML for CI: one testcase per metric (plus one for the run itself), a failure per regression whose
// message names the metric, the baseline, the measured figure and the change.
import { formatChange, type GateResult } from './compare.ts';
import { formatValue } from './metrics.ts';

export function xmlEscape(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // characters XML 1.0 cannot carry at all
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

export function gateJUnit(r: GateResult, now = new Date()): string {
  const suite = `capacity gate: ${r.run.scenario}`;
  const failures = r.checks.filter((c) => c.status === 'regressed' || c.status === 'missing').length + (r.runFailed ? 1 : 0);
  const skipped = r.checks.filter((c) => c.status === 'new').length;
  const tests = r.checks.length + 1;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="capacity gate" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`);
  out.push(
    `  <testsuite name="${xmlEscape(suite)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0" timestamp="${now.toISOString().replace(/\.\d+Z$/, '')}">`,
  );
  out.push('    <properties>');
  for (const [k, v] of [
    ['results', r.run.dir],
    ['baseline', r.baseline.file],
    ['baseline.run', r.baseline.source],
    ['baseline.recordedAt', r.baseline.recordedAt],
    ...r.warnings.map((w, i) => [`warning.${i + 1}`, w]),
  ]) {
    out.push(`      <property name="${xmlEscape(k!)}" value="${xmlEscape(v!)}"/>`);
  }
  out.push('    </properties>');
  out.push(`    <testcase classname="capacity.gate.run" name="run.outcome" time="0">`);
  if (r.runFailed) out.push(`      <failure message="${xmlEscape(`the run ${r.run.outcome}: ${r.run.message}`)}" type="run-failed"/>`);
  out.push('    </testcase>');
  for (const c of r.checks) {
    const cls = `capacity.gate.${c.id.split('.')[0]}`;
    out.push(`    <testcase classname="${xmlEscape(cls)}" name="${xmlEscape(c.id)}" time="0">`);
    if (c.status === 'regressed' || c.status === 'missing') {
      const msg =
        c.status === 'missing'
          ? `${c.id}: baseline ${formatValue(c.baseline, c.unit)}, measured nothing (not measured in this run)`
          : `${c.id}: baseline ${formatValue(c.baseline, c.unit)}, measured ${formatValue(c.measured, c.unit)}, change ${formatChange(c)}`;
      out.push(
        `      <failure message="${xmlEscape(msg)}" type="${c.status === 'missing' ? 'not-measured' : 'regression'}">${xmlEscape(c.message)}</failure>`,
      );
    } else if (c.status === 'new') {
      out.push(`      <skipped message="${xmlEscape(c.message)}"/>`);
    } else {
      out.push(`      <system-out>${xmlEscape(c.message)}</system-out>`);
    }
    out.push('    </testcase>');
  }
  if (r.warnings.length) out.push(`    <system-err>${xmlEscape(r.warnings.map((w) => `warning: ${w}`).join('\n'))}</system-err>`);
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
