// SYNTHETIC results directory, for bench/report.ts ONLY: the size and shape of a one-hour run at 200 requests/s
// (3600 s of per-second rows, 720k acknowledgements, liveness every 10th form, samples every 5 s from every
// source the local collectors have), with made-up but plausible figures. Not a run: never use it to calibrate.
import fs from 'node:fs';
import path from 'node:path';

export interface SyntheticOptions {
  seconds?: number;
  ratePerS?: number;
  sampleEveryS?: number;
}

class Writer {
  private buf: string[] = [];
  private size = 0;
  private fd: number;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }
  line(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length) fs.writeSync(this.fd, `${this.buf.join('\n')}\n`);
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** Writes the synthetic results directory; returns counts. Deterministic (no randomness: a smooth daily-ish wave). */
export function writeSyntheticRun(dir: string, opts: SyntheticOptions = {}): { acks: number; samples: number; timeseriesRows: number } {
  const seconds = opts.seconds ?? 3600;
  const rate = opts.ratePerS ?? 200;
  const every = opts.sampleEveryS ?? 5;
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.parse('2026-01-01T08:00:00Z');
  const wave = (s: number) => 1 + 0.1 * Math.sin(s / 300);

  // timeseries.csv: receiver every second
  const ts = new Writer(path.join(dir, 'timeseries.csv'));
  ts.line('second,endpoint,requests,failed,p50_ms,p95_ms,p99_ms,max_ms,dropped_iterations,vus');
  for (let s = 0; s < seconds; s++) {
    const p50 = 40 * wave(s);
    ts.line(
      `${t0 / 1000 + s},receiver,${rate},${s % 600 === 0 ? 1 : 0},${p50.toFixed(2)},${(p50 * 3).toFixed(2)},${(p50 * 5).toFixed(2)},${(p50 * 8).toFixed(2)},0,${Math.round(20 * wave(s))}`,
    );
  }
  ts.close();

  // acks.ndjson and liveness.ndjson
  const acks = new Writer(path.join(dir, 'acks.ndjson'));
  const live = new Writer(path.join(dir, 'liveness.ndjson'));
  let n = 0;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < rate; i++) {
      const t = t0 + s * 1000 + Math.floor((i * 1000) / rate);
      const id = `${(n >>> 0).toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
      acks.line(`{"ack":"${id}","t":${t},"w":${n % 1000},"form":"${n % 3 ? 'visit' : 'register_household'}"}`);
      if (n % 10 === 0) live.line(`{"formId":"${id}","ackedAt":${t},"searchableAt":${t + 1500},"lagMs":${1500 + (n % 700)}}`);
      n++;
    }
  }
  acks.close();
  live.close();

  // samples.ndjson: every `every` seconds, every source
  const out = new Writer(path.join(dir, 'samples.ndjson'));
  let count = 0;
  const put = (ts: string, source: string, metric: string, value: number, labels: Record<string, string> = {}) => {
    out.line(JSON.stringify({ ts, source, host: 'localhost', metric, value, labels }));
    count++;
  };
  const pillows = ['xform-pillow', 'case-pillow', 'ucr-pillow'];
  const procs: Array<[string, string, number]> = [
    ['web-1', 'django', 0.3],
    ['web-2', 'django', 0.3],
    ['web-3', 'django', 0.3],
    ['pillow-xform', 'pillowtop', 0.4],
    ['pillow-case', 'pillowtop', 0.5],
    ['pillow-ucr', 'pillowtop', 0.3],
    ['postgres', 'postgresql', 0.6],
    ['kafka', 'kafka', 0.2],
    ['elasticsearch', 'elasticsearch', 0.5],
    ['nginx', 'nginx', 0.05],
    ['redis', 'redis', 0.02],
  ];
  const tables: Array<[string, number, number]> = [
    ['form_processor_xforminstancesql', 500, 1],
    ['form_processor_commcarecasesql', 700, 1.5],
    ['form_processor_casetransaction', 360, 2.1],
    ['form_processor_commcarecaseindexsql', 300, 1.4],
    ['ucr_form_submissions', 290, 1],
    ['phone_synclogsql', 750, 0.01],
    ['hq_change_outbox', 900, 0.001],
  ];
  for (let s = 0; s <= seconds; s += every) {
    const ts = new Date(t0 + s * 1000).toISOString();
    const forms = rate * s;
    const w = wave(s);
    const first = s === 0;
    // host
    for (const [m, v] of [
      ['cpu_busy_pct', 70 * w],
      ['cpu_user_pct', 50 * w],
      ['cpu_system_pct', 18 * w],
      ['cpu_iowait_pct', 2],
      ['cpu_steal_pct', 0.1],
      ['cpu_idle_pct', 30 / w],
    ] as const)
      if (!first) put(ts, 'host', m, v, { via: 'proc' });
    for (const [m, v] of [
      ['cpus', 8],
      ['load1', 5 * w],
      ['mem_total_bytes', 32e9],
      ['mem_available_bytes', 20e9],
      ['mem_used_pct', 37.5],
      ['swap_used_bytes', 0],
    ] as const)
      put(ts, 'host', m, v, { via: 'proc' });
    if (!first)
      for (const m of ['swap_in_pages_per_s', 'swap_out_pages_per_s', 'major_faults_per_s']) put(ts, 'host', m, 0, { via: 'proc' });
    for (const m of ['fs_size_bytes', 'fs_used_bytes', 'fs_used_pct'])
      put(ts, 'host', m, m === 'fs_used_pct' ? 40 : 5e11, { via: 'proc', mountpoint: '/' });
    if (!first)
      for (const dev of ['sda', 'sdb'])
        for (const m of ['disk_reads_per_s', 'disk_writes_per_s', 'disk_read_bytes_per_s', 'disk_write_bytes_per_s', 'disk_util_pct'])
          put(ts, 'host', m, 100 * w, { via: 'proc', device: dev });
    if (!first)
      for (const dev of ['lo', 'eth0'])
        for (const m of [
          'net_rx_bytes_per_s',
          'net_tx_bytes_per_s',
          'net_rx_packets_per_s',
          'net_tx_packets_per_s',
          'net_errors_per_s',
          'net_drops_per_s',
        ])
          put(ts, 'host', m, 1e6 * w, { via: 'proc', device: dev });
    // postgres
    const db = { database: 'commcarehq' };
    if (!first)
      for (const m of [
        'tps',
        'xact_commit_per_s',
        'rows_inserted_per_s',
        'rows_updated_per_s',
        'rows_fetched_per_s',
        'rows_returned_per_s',
        'xact_rollback_per_s',
        'rows_deleted_per_s',
        'deadlocks_per_s',
        'temp_bytes_per_s',
      ])
        put(ts, 'postgres', m, 1000 * w, db);
    for (const st of ['active', 'idle', 'idle in transaction']) put(ts, 'postgres', 'connections', 10, { state: st });
    for (const m of [
      'cache_hit_ratio',
      'connections_total',
      'max_connections',
      'waiting_locks',
      'lock_waiting_backends',
      'longest_xact_s',
      'longest_query_s',
      'in_recovery',
    ])
      put(ts, 'postgres', m, 1, {});
    if (s % 30 === 0) {
      put(ts, 'postgres', 'database_bytes', 1e9 + forms * 3000, db);
      for (const [t, size, perForm] of tables) {
        const rows = 100_000 + forms * perForm;
        put(ts, 'postgres', 'table_bytes', rows * size, { ...db, table: `public.${t}` });
        put(ts, 'postgres', 'table_live_rows', rows, { ...db, table: `public.${t}` });
        put(ts, 'postgres', 'table_dead_rows', 0, { ...db, table: `public.${t}` });
      }
    }
    if (s % 10 === 0 && !first)
      for (let q = 0; q < 10; q++)
        for (const m of ['statement_calls_per_s', 'statement_mean_ms', 'statement_ms_per_s', 'statement_rows_per_s'])
          put(ts, 'postgres', m, q + 1, { ...db, queryid: String(q), query: `select ${q} from somewhere where id = $1` });
    // pillows
    for (const p of pillows) {
      const topic = p === 'case-pillow' ? 'case-sql' : 'form-sql';
      const total = topic === 'case-sql' ? forms * 2 : forms;
      for (let part = 0; part < 4; part++) {
        const labels = { pillow: p, topic, partition: String(part) };
        put(ts, 'pillows', 'checkpoint_offset', total / 4 - 10, labels);
        put(ts, 'pillows', 'offset_lag', 10, labels);
        put(ts, 'pillows', 'time_lag_s', 0.5 * w, { ...labels, from: 'checkpoint' });
        put(ts, 'pillows', 'checkpoint_age_s', 0.2, labels);
        if (!first) put(ts, 'pillows', 'processed_per_s', total / 4 / Math.max(1, s), labels);
      }
      put(ts, 'pillows', 'offset_lag_total', 40, { pillow: p });
      put(ts, 'pillows', 'time_lag_max_s', 0.5 * w, { pillow: p });
      if (!first) put(ts, 'pillows', 'processed_per_s_total', rate, { pillow: p });
    }
    // kafka
    for (const [topic, mult] of [
      ['form-sql', 1],
      ['case-sql', 2],
    ] as const) {
      put(ts, 'kafka', 'topic_end_offset', forms * mult, { topic });
      put(ts, 'kafka', 'partitions', 4, { topic });
      if (!first) put(ts, 'kafka', 'messages_in_per_s', rate * mult, { topic });
      put(ts, 'local_store', 'kafka_log_bytes', forms * mult * 400, { topic });
    }
    put(ts, 'local_store', 'synclogs', s, {});
    put(ts, 'local_store', 'synclog_cases', s * 20, {});
    // elasticsearch
    const node = { node: 'n1' };
    for (const m of [
      'docs',
      'docs_deleted',
      'store_bytes',
      'indexing_current',
      'search_current',
      'merges_current',
      'heap_used_bytes',
      'heap_max_bytes',
      'heap_used_pct',
      'os_cpu_pct',
      'process_cpu_pct',
    ])
      put(ts, 'elasticsearch', m, m === 'heap_used_pct' ? 60 * w : 1000, node);
    if (!first)
      for (const m of [
        'indexing_per_s',
        'indexing_ms_per_doc',
        'indexing_failed_per_s',
        'indexing_throttle_ms_per_s',
        'search_per_s',
        'search_query_ms',
        'search_fetch_ms',
        'refresh_per_s',
        'refresh_ms',
        'merges_per_s',
        'merge_ms',
        'flush_per_s',
      ])
        put(ts, 'elasticsearch', m, m === 'indexing_per_s' ? rate * 3 * w : 1, node);
    for (const pool of ['write', 'search', 'get', 'refresh', 'flush', 'management', 'generic', 'force_merge'])
      for (const m of ['threadpool_queue', 'threadpool_active', 'threadpool_rejected']) put(ts, 'elasticsearch', m, 0, { ...node, pool });
    for (const m of [
      'cluster_status',
      'cluster_nodes',
      'active_shards',
      'relocating_shards',
      'initializing_shards',
      'unassigned_shards',
      'pending_tasks',
    ])
      put(ts, 'elasticsearch', m, 1, {});
    if (s % 30 === 0) {
      put(ts, 'elasticsearch', 'index_docs', 100_000 + forms, { index: 'xforms' });
      put(ts, 'elasticsearch', 'index_store_bytes', (100_000 + forms) * 800, { index: 'xforms' });
      put(ts, 'elasticsearch', 'index_docs', 150_000 + forms * 1.5, { index: 'hqcases' });
      put(ts, 'elasticsearch', 'index_store_bytes', (150_000 + forms * 1.5) * 360, { index: 'hqcases' });
    }
    // redis, nginx
    for (const m of [
      'connected_clients',
      'blocked_clients',
      'used_memory_bytes',
      'used_memory_rss_bytes',
      'maxmemory_bytes',
      'mem_fragmentation_ratio',
      'hit_ratio',
    ])
      put(ts, 'redis', m, 1, {});
    if (!first)
      for (const m of [
        'commands_per_s',
        'connections_per_s',
        'rejected_connections_per_s',
        'evicted_keys_per_s',
        'expired_keys_per_s',
        'net_input_bytes_per_s',
        'net_output_bytes_per_s',
      ])
        put(ts, 'redis', m, 10, {});
    for (const m of ['active_connections', 'reading', 'writing', 'waiting']) put(ts, 'nginx', m, 20, {});
    if (!first)
      for (const m of ['requests_per_s', 'accepts_per_s', 'dropped_per_s']) put(ts, 'nginx', m, m === 'dropped_per_s' ? 0 : rate, {});
    // processes
    for (const [name, service, cores] of procs) {
      const labels = { process: name, service };
      put(ts, 'process', 'cpu_seconds', 1000 + cores * w * s, labels);
      if (!first) put(ts, 'process', 'cpu_cores', cores * w, labels);
      put(ts, 'process', 'rss_bytes', 2e8, labels);
      put(ts, 'process', 'processes', name === 'postgres' ? 20 : 1, labels);
    }
    for (const c of ['host', 'postgres', 'pillows', 'kafka', 'elasticsearch', 'redis', 'nginx', 'process', 'local_store'])
      put(ts, 'sampler', 'sample_ms', 5, { collector: `${c}@localhost` });
  }
  out.close();

  const startedAt = new Date(t0).toISOString();
  const endedAt = new Date(t0 + seconds * 1000).toISOString();
  const total = rate * seconds;
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify(
      {
        synthetic: 'bench/report-synthetic.ts: NOT A RUN',
        scenario: 'steady',
        status: 'finished',
        startedAt,
        endedAt,
        parameters: { users: 1000, shape: { rate, durationS: seconds }, collectIntervalMs: every * 1000 },
        target: { kind: 'local', baseUrl: 'local' },
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'k6-summary.json'),
    JSON.stringify(
      {
        metrics: {
          data_sent: { count: total * 20_000, rate: rate * 20_000 },
          'http_req_duration{endpoint:receiver}': { avg: 45, med: 40, 'p(95)': 120, 'p(99)': 200, max: 900 },
          http_reqs: { count: total, rate },
        },
      },
      null,
      2,
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'summary.json'),
    JSON.stringify(
      {
        scenario: 'steady',
        target: 'SYNTHETIC (bench/report-synthetic.ts)',
        startedAt,
        endedAt,
        durationS: seconds,
        requests: total,
        failedRequests: seconds / 600,
        failedRate: seconds / 600 / total,
        acknowledged: total,
        acknowledgedPerSec: rate,
        droppedIterations: 0,
        corpusExhausted: 0,
        endpoints: { receiver: { count: total, failed: seconds / 600, p50: 40, p95: 120, p99: 200, max: 900 } },
        thresholds: [{ metric: 'http_req_duration{endpoint:receiver}', expression: 'p(95)<900', ok: true }],
        thresholdsPassed: true,
        liveness: { followed: total / 10, searchable: total / 10, neverSearchable: 0, p50Ms: 1850, p95Ms: 2165, maxMs: 2199 },
        k6ExitCode: 0,
        interrupted: false,
        outcome: 'passed',
        message: 'all thresholds held',
      },
      null,
      2,
    ),
  );
  return { acks: n, samples: count, timeseriesRows: seconds };
}
