// samples.ndjson: what every collector writes.

/**
 * One measurement, one NDJSON line in samples.ndjson.
 *
 * - `ts`: when the tick that took it started, ISO 8601 UTC with milliseconds. All samples of one tick share it.
 * - `source`: the kind of source: postgres, pillows, kafka, elasticsearch, host, rabbitmq, redis, nginx, sampler.
 * - `host`: the machine the figure is about (topology host name; "localhost" for the local stack; for
 *   Elasticsearch, the node's host).
 * - `metric`: name within the source (e.g. `xact_per_s`); units are in the name (`_bytes`, `_s`, `_ms`,
 *   `_per_s`, `_pct`, `_ratio`).
 * - `labels`: string-valued dimensions (database, state, pillow, topic, partition, node, device...).
 *
 * A source that failed writes a gap instead of figures: `metric: "gap"`, `gap: true`, `error: "<message>"`,
 * `value: 1`, `labels.collector` naming the collector (and `labels.part` when only part of a source failed).
 * Readers must treat a gap as "unknown", never as zero.
 */
export interface Sample {
  ts: string;
  source: string;
  host: string;
  metric: string;
  value: number;
  labels: Record<string, string>;
  gap?: true;
  error?: string;
}
