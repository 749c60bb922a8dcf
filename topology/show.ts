// Text rendering of a topology for `capacity topology show`.
import { formatFigure, formatVmTable } from './vm-table.ts';
import { totals, type Topology } from './model.ts';

export function renderTopology(t: Topology): string {
  const out: string[] = [];
  out.push(
    `${t.name ? `${t.name} — ` : ''}read from ${t.source.path} (${t.source.format})${t.source.extra?.length ? ` + ${t.source.extra.join(', ')}` : ''}`,
  );
  if (t.rows.length) {
    out.push('', formatVmTable(t.rows, 'grid', 'VM summary').trimEnd());
    const s = totals(t.rows);
    out.push(
      `Total: ${s.rows} row${s.rows === 1 ? '' : 's'}, ${s.vms} VM${s.vms === 1 ? '' : 's'}, ${formatFigure(s.cores)} cores, ${formatFigure(s.ramGb)} GB RAM, ${formatFigure(s.storageGb)} GB data storage`,
    );
  }
  if (t.target?.baseUrl) out.push('', `Target: ${t.target.baseUrl}${t.target.domain ? ` (domain ${t.target.domain})` : ''}`);
  if (t.hosts.length) {
    out.push('', `Hosts (${t.hosts.length}):`);
    for (const h of t.hosts) {
      const head = `  ${h.name}${h.address !== h.name ? ` (${h.address})` : ''}${h.row ? ` row=${h.row}` : ''}`;
      out.push(head);
      for (const s of h.services) {
        const eps = s.endpoints.map((e) => e.url ?? `${e.host}:${e.port}`).join(', ');
        const label = s.name !== s.kind ? `${s.kind} [${s.name}]` : s.kind;
        out.push(`    ${label}${eps ? `: ${eps}` : ''}`);
        for (const p of s.processes ?? []) {
          const bits = [
            p.count !== 1 ? `x${p.count}` : '',
            p.concurrency !== undefined ? `concurrency ${p.concurrency}` : '',
            p.pooling ?? '',
          ].filter(Boolean);
          out.push(`      - ${p.name}${bits.length ? ` (${bits.join(', ')})` : ''}`);
        }
      }
      if (h.nodeExporter) out.push(`    node_exporter: ${h.nodeExporter.url ?? `${h.nodeExporter.host}:${h.nodeExporter.port}`}`);
    }
  }
  if (t.appSettings) {
    const a = t.appSettings;
    out.push('', `Gunicorn workers per host: ${a.gunicornWorkersStaticFactor ?? 0} + ${a.gunicornWorkersFactor ?? 1} x cores`);
  }
  if (t.warnings.length) {
    out.push('', 'Warnings:');
    for (const w of t.warnings) out.push(`  - ${w}`);
  }
  return out.join('\n') + '\n';
}
