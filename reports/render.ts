// The report model as HTML (self-contained: CSS inline, charts as data: PNG) and as Markdown (charts as files
// in charts/). A section with nothing to show says why instead of showing an empty table.
import type { RenderedChart } from './charts.ts';
import type { RowVerdict } from './project.ts';
import type { ReportModel } from './report.ts';

type Cell = string | number | undefined;
interface Table {
  head: string[];
  rows: Cell[][];
  /** Right-align these columns (numbers). */
  numeric?: number[];
}

export function num(n: number | undefined, digits = 3): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e5) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return (Math.round(n * 10) / 10).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(0)} %`);
const ms = (x: number | undefined) => (x === undefined ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${num(x)} ms`);
const bytes = (b: number | undefined) =>
  b === undefined
    ? '-'
    : b >= 1e9
      ? `${num(b / 1e9)} GB`
      : b >= 1e6
        ? `${num(b / 1e6)} MB`
        : b >= 1e3
          ? `${num(b / 1e3)} KB`
          : `${num(b)} B`;

function costValue(unit: string, v: number | undefined): string {
  if (v === undefined) return 'not measured';
  if (unit === 'B') return bytes(v);
  if (unit === 'CPU s') return v < 0.001 ? `${num(v * 1e6)} µs CPU` : v < 1 ? `${num(v * 1000)} ms CPU` : `${num(v)} s CPU`;
  if (unit === 'ms') return `${num(v)} ms`;
  return `${num(v)} ${unit}`;
}

interface Section {
  title: string;
  /** Paragraphs before the tables. */
  text?: string[];
  tables?: Array<{ caption?: string; table: Table; empty: string }>;
  charts?: string[];
  list?: string[];
}

/** The verdict as shown: "ENOUGH", "SHORT (advisory)", "NOT MEASURED". */
export function verdictWord(v: RowVerdict): string {
  return `${v.verdict.toUpperCase()}${v.advisory ? ' (advisory: stand-in costs)' : ''}`;
}

/** Both verdicts when the measured and the modelled ones disagree. */
export function sideBySide(v: RowVerdict): string {
  const d = v.disagreement;
  if (!d) return '-';
  return `measured${d.measured.advisory ? ' (stand-in, advisory)' : ''}: ${d.measured.verdict.toUpperCase()} ${pct(d.measured.headroom)}; modelled: ${d.modelled.verdict.toUpperCase()} ${pct(d.modelled.headroom)}`;
}

function sections(m: ReportModel): Section[] {
  const out: Section[] = [];
  const r = m.run;
  const c = m.calibration;
  const p = m.projection;

  // 1. Verdicts
  const verdictText: string[] = [];
  if (p) {
    verdictText.push(
      `Target: ${num(p.target.users)} users, ${num(p.target.formsPerUserPerMonth)} forms per user per month, case load ${num(p.target.caseLoad)}, ${num(p.target.restoresPerUserPerDay)} restores per user per day, ${p.target.months} months of growth (${p.start} to ${p.horizon}, from ${p.targetSources.start ?? 'the run'}). ` +
        `Peak: ${num(p.load.peakFormsPerS)} forms/s and ${num(p.load.peakRestoresPerS)} restores/s (the peak 15 minutes carry ${num(p.target.peakShare * 100)} % of a day). CPU is judged at ${pct(p.target.cpuTarget)} of the cores.`,
      `Export load: ${num(p.target.webUsers)} web users x ${num(p.target.exportsPerWebUserPerDay)} exports a day x ${num(p.target.rowsPerExport)} rows (${[
        ['webUsers', 'web users'],
        ['exportsPerWebUserPerDay', 'exports'],
        ['rowsPerExport', 'rows'],
      ]
        .map(([k, what]) => `${what}: ${p.targetSources[k!] ?? 'given'}`)
        .join(
          '; ',
        )}); peak ${num(p.load.peakExportsPerS * 3600)} exports an hour, ${num(p.load.peakExportedRowsPerS)} rows/s. The celery, rabbitmq and redis rows' costs per export are the stand-in's, not HQ's.`,
    );
  }
  out.push({
    title: 'Verdict per VM summary row',
    text: verdictText,
    tables: [
      {
        table: {
          head: [
            'VM row',
            'VMs',
            'cores / RAM GB / disk GB per VM',
            'services',
            'rests on',
            'verdict',
            'headroom',
            'first to run out',
            'measured vs modelled',
            'scaling signals (OpenCRVS)',
          ],
          rows: m.verdicts.map((v) => [
            v.row.name,
            v.row.vmCount,
            `${num(v.row.coresPerVm)} / ${num(v.row.ramGbPerVm)} / ${num(v.row.storageGbPerVm)}`,
            v.kinds.join(', ') || '-',
            v.label,
            verdictWord(v),
            pct(v.headroom),
            v.firstToRunOut ?? '-',
            sideBySide(v),
            v.signals.length ? v.signals.map((s) => `${s.name}: ${s.detail}`).join('; ') : 'none',
          ]),
          numeric: [1, 6],
        },
        empty: 'No VM summary rows: give a topology with --topology to judge each row.',
      },
      {
        caption: 'What each verdict rests on',
        table: {
          head: ['VM row', 'resource', 'rests on', 'need', 'usable capacity', 'utilisation', 'basis'],
          rows: m.verdicts.flatMap((v) => [
            ...v.checks.map((k) => [
              v.row.name,
              k.resource,
              k.basis,
              `${num(k.need)} ${k.unit}`,
              `${num(k.capacity)} ${k.unit}`,
              pct(k.utilisation),
              k.detail +
                (k.advisory ? ` (advisory: ${k.advisory === 'stand-in' ? 'stand-in costs' : 'does not scale with load here'})` : ''),
            ]),
            ...v.notes.map((n) => [v.row.name, '-', v.checks.length ? '-' : 'not measured', '-', '-', '-', n]),
          ]),
          numeric: [5],
        },
        empty: 'Nothing to judge the rows by (no calibration and no matching sizing services).',
      },
    ],
    charts: ['utilisation', 'storage-growth'],
  });

  // 2. Calibration
  const counts = c.counts;
  out.push({
    title: 'Calibration: per-unit costs measured under load',
    text: [
      c.window
        ? `Measured over ${num(c.window.seconds)} s of samples (${new Date(c.window.fromMs).toISOString()} to ${new Date(c.window.toMs).toISOString()}): ` +
          `${num(counts.formsWritten ?? counts.formsAcknowledged)} forms${counts.formsWritten !== undefined ? ' taken in by the stack' : ''} (${num(counts.formsAcknowledged)} acknowledged by this run)` +
          `${counts.changes !== undefined ? `, ${num(counts.changes)} Kafka changes` : ''}${counts.restores !== undefined ? `, ${num(counts.restores)} restores carrying ${num(counts.restoredCases)} cases` : ''}${counts.requests !== undefined ? `, ${num(counts.requests)} requests` : ''}.`
        : 'No samples: nothing could be measured over time.',
      ...c.notes,
    ],
    tables: [
      {
        table: {
          head: ['per-unit cost', 'measured', 'basis', 'resource-model constant'],
          rows: c.costs.map((x) => [x.label, costValue(x.unit, x.value), x.basis, x.reference ?? '']),
        },
        empty: 'No costs could be computed.',
      },
      {
        caption: 'CPU and memory by service over the window',
        table: {
          head: ['service', 'CPU seconds', 'mean cores', 'peak cores', 'peak memory', 'processes / hosts', 'basis'],
          rows: c.services.map((l) => [
            l.kind,
            num(l.cpuSeconds),
            num(l.meanCores),
            num(l.peakCores),
            bytes(l.peakRssBytes),
            l.processes.join(', '),
            l.basis,
          ]),
          numeric: [1, 2, 3],
        },
        empty: 'No per-service CPU: the run had no process samples (local stack) and no VM that runs a single service.',
      },
    ],
    charts: ['process-cpu'],
  });

  // 3. Projection
  if (p) {
    out.push({
      title: `Sizing model for the target (${p.start} to ${p.horizon})`,
      text: [
        `Config ${p.sizingConfig}; the measured figures replace the config's where it has a place for them. Total: ${p.totals.vms} VMs, ${num(p.totals.cores)} cores, ${num(p.totals.ramGb)} GB RAM, ${num(p.totals.storageTotal)} ${p.storageUnit} data storage.`,
        ...p.skipped,
      ],
      tables: [
        {
          caption: 'Target population',
          table: {
            head: ['parameter', 'value', 'from'],
            rows: Object.entries(p.target).map(([k, v]) => [k, typeof v === 'number' ? num(v) : v, p.targetSources[k] ?? '']),
          },
          empty: '-',
        },
        {
          caption: 'CPU at the peak, from the measured costs',
          table: {
            head: ['service', 'cores at peak', 'how'],
            rows: p.demands.map((d) => [d.kind, num(d.peakCores), d.basis]),
            numeric: [1],
          },
          empty: 'No measured CPU cost to project (no process samples in this run).',
        },
        {
          caption: 'Calibrated figures fed to the sizing model',
          table: {
            head: ['override', 'value', 'source'],
            rows: p.overrides.map((o) => [o.path, typeof o.value === 'number' ? num(o.value, 4) : o.value, o.source ?? '']),
          },
          empty: 'None: nothing measured has a place in this config.',
        },
        {
          caption: 'VM summary the model gives for the target',
          table: {
            head: ['', 'Cores Per VM', 'RAM Per VM', 'Data Storage Per VM (GB)', 'VMs Total'],
            rows: p.vmSummary.map((v) => [v.name, num(v.coresPerVm), num(v.ramGbPerVm), num(v.storageGbPerVm), v.vmCount]),
            numeric: [1, 2, 3, 4],
          },
          empty: 'The model gives no VM for this target.',
        },
      ],
    });
  }

  // 4. The run
  out.push({
    title: 'The run',
    text: [
      r.scenario
        ? `${r.scenario} against ${r.target ?? 'an unknown target'}, ${r.startedAt ?? '?'} to ${r.endedAt ?? '?'} (${num(r.durationS)} s): ${r.outcome?.toUpperCase() ?? 'no outcome'}${r.message ? ` (${r.message})` : ''}. ` +
          `${num(r.requests)} requests, ${num(r.failedRequests)} failed; ${num(r.acknowledged)} forms acknowledged.`
        : 'No summary.json: the run may not have finished.',
      r.liveness?.followed
        ? `Data liveness (acknowledged -> searchable): ${r.liveness.searchable}/${r.liveness.followed} followed forms, p50 ${ms(r.liveness.p50Ms)}, p95 ${ms(r.liveness.p95Ms)}, max ${ms(r.liveness.maxMs)}.`
        : 'Data liveness: not followed.',
    ],
    tables: [
      {
        table: {
          head: ['endpoint', 'requests', 'failed', 'p50', 'p95', 'p99', 'max'],
          rows: r.endpoints.map((e) => [e.endpoint, e.count, e.failed, ms(e.p50), ms(e.p95), ms(e.p99), ms(e.max)]),
          numeric: [1, 2, 3, 4, 5, 6],
        },
        empty: 'No per-endpoint figures (summary.json missing).',
      },
      {
        caption: 'Thresholds',
        table: { head: ['metric', 'threshold', 'held'], rows: r.thresholds.map((t) => [t.metric, t.expression, t.ok ? 'yes' : 'NO']) },
        empty: 'No thresholds recorded.',
      },
    ],
    charts: [
      'throughput',
      ...m.charts.filter((x) => x.id.startsWith('latency-')).map((x) => x.id),
      'errors',
      'pillow-lag',
      'postgres',
      'elasticsearch',
    ],
  });

  // 4b. A rehearsal: per-VM load measured on each VM's own container
  const rh = m.rehearsal;
  if (rh) {
    const limitPct = (x: number | undefined) => (x === undefined ? '-' : `${num(x)} %`);
    out.push({
      title: 'Rehearsal: load measured on each VM (its container) against its limit',
      text: [
        `The VMs were containers whose CPU and memory limits are their rows' cores and RAM at the rehearsal's scale; each row is judged by what its own containers used. A VM saturates in a ramp step when its mean CPU is >= 90 % of its limit, or its memory >= 95 %.`,
        rh.rateReached
          ? `Rate reached: the ${num(rh.rateReached.rate)}/s step (${num(rh.rateReached.achievedPerSec)}/s achieved${rh.rateReached.sustained ? '' : ', not sustained'}).`
          : 'No ramp steps in this run: utilisation is over the whole run.',
        `Verdict: ${rh.summary}.`,
      ],
      tables: [
        {
          table: {
            head: [
              'VM row',
              'hosts',
              'state',
              'CPU % of limit mean / max',
              'CPU at rate',
              'memory % of limit max',
              'memory at rate',
              'saturated at',
            ],
            rows: rh.rows.map((r) => [
              r.row,
              r.hosts.join(', ') || '-',
              r.state,
              r.cpuPctMean === undefined ? '-' : `${num(r.cpuPctMean)} / ${num(r.cpuPctMax)} %`,
              limitPct(r.cpuPctAtRate),
              limitPct(r.memPctMax),
              limitPct(r.memPctAtRate),
              r.saturatedAt
                ? `${num(r.saturatedAt.rate)}/s step: ${r.saturatedAt.resource} ${num(r.saturatedAt.value)} % (${r.saturatedAt.host})`
                : '-',
            ]),
          },
          empty: 'No VM row.',
        },
        {
          table: {
            head: [
              'host',
              'container',
              'CPU limit (cores)',
              'memory limit',
              'readings',
              'CPU % mean / max',
              'throttled % mean',
              'memory % mean / max',
            ],
            rows: rh.hosts.map((h) => [
              h.host,
              h.container,
              num(h.cpuLimitCores),
              bytes(h.memLimitBytes),
              h.readings,
              `${num(h.cpuPctMean)} / ${num(h.cpuPctMax)} %`,
              limitPct(h.throttledPctMean),
              `${num(h.memPctMean)} / ${num(h.memPctMax)} %`,
            ]),
            numeric: [2, 4],
          },
          caption: 'Per container',
          empty: 'No container was read.',
        },
        ...(rh.steps.length
          ? [
              {
                table: {
                  head: ['step', 'achieved/s', 'sustained', ...rh.hosts.map((h) => `${h.host} CPU %`)],
                  rows: rh.steps.map((st) => [
                    `${num(st.rate)}/s`,
                    num(st.achievedPerSec),
                    st.sustained ? 'yes' : 'no',
                    ...rh.hosts.map((h) => num(st.cpuPct[h.host])),
                  ]),
                  numeric: [1],
                },
                caption: 'Mean CPU % of limit per ramp step',
                empty: 'No ramp steps.',
              },
            ]
          : []),
      ],
    });
  }

  // 5. VMs
  out.push({
    title: "VMs under the run's load (OpenCRVS scaling signals)",
    text: [
      'Signals: CPU busy >= 90 % or iowait >= 10 % in at least 80 % of readings, swapping (or major faults >= 50/s) in at least 20 % of readings, memory >= 95 % used in at least 80 %.',
    ],
    tables: [
      {
        table: {
          head: [
            'host',
            'VM row',
            'readings',
            'CPU busy mean / max',
            'iowait mean / max',
            'memory used max',
            'swap pages/s max',
            'signals',
          ],
          rows: m.hosts.map((h) => [
            h.host,
            h.row ?? '-',
            h.readings,
            `${num(h.cpuBusyMean)} / ${num(h.cpuBusyMax)} %`,
            `${num(h.iowaitMean)} / ${num(h.iowaitMax)} %`,
            h.memUsedMaxPct !== undefined ? `${num(h.memUsedMaxPct)} %` : '-',
            num(h.swapPagesPerSMax),
            h.signals.map((s) => s.name).join(', ') || 'none',
          ]),
          numeric: [2],
        },
        empty: 'No host samples in this run: the signals cannot be checked.',
      },
    ],
    charts: ['host-cpu'],
  });

  // 6. Sources
  out.push({
    title: 'Data sources',
    text: [
      `Results directory: ${m.resultsDir}`,
      ...(m.topology
        ? [
            `Topology: ${m.topology.file} (${m.topology.rows.length} rows, from ${m.topology.from === 'option' ? '--topology' : "the run's manifest"})`,
          ]
        : []),
    ],
    tables: [
      {
        table: { head: ['source', 'status', 'detail'], rows: m.sources.map((s) => [s.name, s.status, s.detail]) },
        empty: 'Every source was present.',
      },
    ],
    list: [...m.chartsNotDrawn.map((x) => `Chart not drawn: ${x.title} (${x.reason})`), ...m.notes, ...m.warnings],
  });
  return out;
}

// ---- HTML --------------------------------------------------------------------------------------------------

const esc = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function htmlTable(t: Table, caption?: string): string {
  const cls = (i: number) => (t.numeric?.includes(i) ? ' class="n"' : '');
  const verdictClass = (v: Cell) =>
    typeof v === 'string' && /^(SHORT|ENOUGH|OVERSIZED|NOT MEASURED)/.test(v) ? ` class="v-${v.split(' ')[0]!.toLowerCase()}"` : '';
  return (
    `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${t.head.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    t.rows.map((row) => `<tr>${row.map((c, i) => `<td${verdictClass(c) || cls(i)}>${esc(c ?? '-')}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

const CSS = `
@page{size:A4;margin:12mm}
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:12px;color:#222;margin:24px;max-width:1100px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;border-bottom:2px solid #1f77b4;padding-bottom:3px;margin-top:28px;page-break-after:avoid}
table{border-collapse:collapse;margin:10px 0 16px;width:100%;page-break-inside:auto}caption{text-align:left;font-weight:bold;padding:4px 0}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}th{background:#eef3f8}td.n,th.n{text-align:right}
tr{page-break-inside:avoid}td.v-short{background:#f8d7da;font-weight:bold}td.v-enough{background:#d4edda;font-weight:bold}
td.v-oversized{background:#fff3cd;font-weight:bold}td.v-not{background:#eee}
figure{margin:12px 0;page-break-inside:avoid}figure img{max-width:100%;height:auto;border:1px solid #ddd}figcaption{font-size:11px;color:#555}
p.meta{color:#555;margin-top:0}p.empty{font-style:italic;color:#555}ul.notes{color:#555}
`;

// Marks the page with what loaded: images with a natural width, tables with rows. Checked by tests (dump-dom).
const CHECK_SCRIPT = `window.addEventListener('load',function(){var i=[].slice.call(document.images);var ok=i.filter(function(x){return x.complete&&x.naturalWidth>0}).length;
var t=[].slice.call(document.querySelectorAll('table'));var empty=t.filter(function(x){return !x.querySelector('tbody tr')}).length;
document.body.setAttribute('data-images',ok+'/'+i.length);document.body.setAttribute('data-empty-tables',String(empty));document.body.setAttribute('data-tables',String(t.length));});`;

export function renderHtml(m: ReportModel, charts: readonly RenderedChart[]): string {
  const byId = new Map(charts.map((c) => [c.id, c]));
  const used = new Set<string>();
  const parts: string[] = [];
  parts.push(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(m.title)}</title><style>${CSS}</style><script>${CHECK_SCRIPT}</script></head><body>`,
  );
  parts.push(`<h1>${esc(m.title)}</h1><p class="meta">Generated ${esc(m.generatedAt)} by capacity report from ${esc(m.resultsDir)}</p>`);
  const fig = (id: string) => {
    const c = byId.get(id);
    if (!c || used.has(id)) return '';
    used.add(id);
    return `<figure><img alt="${esc(c.title)}" width="${c.width}" height="${c.height}" src="data:image/png;base64,${c.png.toString('base64')}"><figcaption>${esc(c.title)}</figcaption></figure>`;
  };
  for (const s of sections(m)) {
    parts.push(`<h2>${esc(s.title)}</h2>`);
    for (const t of s.text ?? []) if (t) parts.push(`<p>${esc(t)}</p>`);
    for (const t of s.tables ?? [])
      parts.push(
        t.table.rows.length
          ? htmlTable(t.table, t.caption)
          : `<p class="empty">${t.caption ? `${esc(t.caption)}: ` : ''}${esc(t.empty)}</p>`,
      );
    for (const id of s.charts ?? []) parts.push(fig(id));
    if (s.list?.length) parts.push(`<ul class="notes">${s.list.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`);
  }
  const rest = charts.filter((c) => !used.has(c.id));
  if (rest.length) parts.push(`<h2>Other charts</h2>${rest.map((c) => fig(c.id)).join('')}`);
  parts.push('</body></html>\n');
  return parts.join('\n');
}

// ---- Markdown ----------------------------------------------------------------------------------------------

const mdCell = (c: Cell) =>
  String(c ?? '-')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

function mdTable(t: Table, caption?: string): string {
  const align = t.head.map((_, i) => (t.numeric?.includes(i) ? '---:' : '---'));
  return `${caption ? `**${caption}**\n\n` : ''}| ${t.head.map(mdCell).join(' | ')} |\n| ${align.join(' | ')} |\n${t.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`).join('\n')}\n`;
}

export function renderMarkdown(m: ReportModel): string {
  const byId = new Map(m.charts.map((c) => [c.id, c]));
  const used = new Set<string>();
  const out: string[] = [`# ${m.title}`, '', `Generated ${m.generatedAt} by capacity report from \`${m.resultsDir}\``, ''];
  const fig = (id: string) => {
    const c = byId.get(id);
    if (!c || used.has(id)) return;
    used.add(id);
    out.push(`![${c.title}](${c.file})`, '');
  };
  for (const s of sections(m)) {
    out.push(`## ${s.title}`, '');
    for (const t of s.text ?? []) if (t) out.push(t, '');
    for (const t of s.tables ?? [])
      out.push(t.table.rows.length ? mdTable(t.table, t.caption) : `_${t.caption ? `${t.caption}: ` : ''}${t.empty}_\n`);
    for (const id of s.charts ?? []) fig(id);
    if (s.list?.length) out.push(...s.list.map((x) => `- ${x}`), '');
  }
  const rest = m.charts.filter((c) => !used.has(c.id));
  if (rest.length) {
    out.push('## Other charts', '');
    for (const c of rest) fig(c.id);
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
