// Charts as PNG (chart.js on node-canvas through chartjs-node-canvas). A chart is described as plain data
// (ChartSpec) by the report and drawn here; long series are thinned to at most MAX_POINTS per line.
import type { ChartConfiguration } from 'chart.js';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';

export interface LineSeries {
  label: string;
  /** x in seconds since the start (or any number), y the value; nulls break the line (a gap). */
  points: Array<{ x: number; y: number | null }>;
  dashed?: boolean;
  /** Right-hand axis. */
  right?: boolean;
  /** Thin by max (latency, lag) rather than mean (rates). */
  keepPeaks?: boolean;
  colour?: string;
}

export type ChartSpec =
  | { id: string; title: string; kind: 'line'; xLabel: string; yLabel: string; yRightLabel?: string; series: LineSeries[]; yMin?: number }
  | {
      id: string;
      title: string;
      kind: 'bar';
      horizontal?: boolean;
      categories: string[];
      yLabel: string;
      bars: Array<{ label: string; values: Array<number | null>; colour?: string }>;
      line?: { value: number; label: string };
    };

export interface RenderedChart {
  id: string;
  title: string;
  png: Buffer;
  width: number;
  height: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export const MAX_POINTS = 1200;
export const CHART_WIDTH = 960;
export const CHART_HEIGHT = 360;

/** At most `max` points: buckets of consecutive points, each the mean (or the max) of its bucket; nulls kept as gaps. */
export function thin(points: LineSeries['points'], max = MAX_POINTS, keepPeaks = false): LineSeries['points'] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: LineSeries['points'] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    const ys = bucket.map((p) => p.y).filter((y): y is number => y !== null);
    const x = bucket[Math.floor(bucket.length / 2)]!.x;
    if (!ys.length) out.push({ x, y: null });
    else out.push({ x, y: keepPeaks ? Math.max(...ys) : ys.reduce((a, b) => a + b, 0) / ys.length });
  }
  return out;
}

function config(spec: ChartSpec): ChartConfiguration {
  const common = {
    animation: false as const,
    responsive: false,
    plugins: {
      title: { display: true, text: spec.title, font: { size: 15 } },
      legend: { display: true, position: 'bottom' as const, labels: { boxWidth: 14 } },
    },
  };
  if (spec.kind === 'line') {
    const rightUsed = spec.series.some((s) => s.right);
    return {
      type: 'line',
      data: {
        datasets: spec.series.map((s, i) => {
          const colour = s.colour ?? PALETTE[i % PALETTE.length]!;
          return {
            label: s.label,
            data: thin(s.points, MAX_POINTS, s.keepPeaks),
            borderColor: colour,
            backgroundColor: colour,
            borderWidth: 1.5,
            pointRadius: s.points.length <= 60 ? 2 : 0,
            borderDash: s.dashed ? [6, 4] : [],
            spanGaps: false,
            yAxisID: s.right ? 'y1' : 'y',
          };
        }),
      },
      options: {
        ...common,
        parsing: false,
        normalized: true,
        scales: {
          x: { type: 'linear', title: { display: true, text: spec.xLabel } },
          y: {
            type: 'linear',
            position: 'left',
            title: { display: true, text: spec.yLabel },
            ...(spec.yMin !== undefined ? { min: spec.yMin } : { beginAtZero: true }),
          },
          ...(rightUsed
            ? {
                y1: {
                  type: 'linear' as const,
                  position: 'right' as const,
                  beginAtZero: true,
                  grid: { drawOnChartArea: false },
                  title: { display: true, text: spec.yRightLabel ?? '' },
                },
              }
            : {}),
        },
      },
    } as ChartConfiguration;
  }
  const datasets: Array<Record<string, unknown>> = spec.bars.map((b, i) => ({
    type: 'bar',
    label: b.label,
    data: b.values,
    backgroundColor: b.colour ?? PALETTE[i % PALETTE.length],
  }));
  if (spec.line) {
    datasets.push({
      type: 'line',
      label: spec.line.label,
      data: spec.categories.map(() => spec.line!.value),
      borderColor: '#000000',
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
    });
  }
  const valueAxis = { beginAtZero: true, title: { display: true, text: spec.yLabel } };
  return {
    type: 'bar',
    data: { labels: spec.categories, datasets },
    options: {
      ...common,
      indexAxis: spec.horizontal ? 'y' : 'x',
      scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis },
    },
  } as unknown as ChartConfiguration;
}

const canvases = new Map<string, ChartJSNodeCanvas>();

/** Draws one chart to PNG. */
export async function renderChart(spec: ChartSpec, width = CHART_WIDTH, height?: number): Promise<RenderedChart> {
  const h =
    height ?? (spec.kind === 'bar' && spec.horizontal ? Math.max(220, 90 + spec.categories.length * spec.bars.length * 14) : CHART_HEIGHT);
  const key = `${width}x${h}`;
  let canvas = canvases.get(key);
  if (!canvas) {
    canvas = new ChartJSNodeCanvas({ width, height: h, backgroundColour: 'white' });
    canvases.set(key, canvas);
  }
  const png = await canvas.renderToBuffer(config(spec), 'image/png');
  return { id: spec.id, title: spec.title, png, width, height: h };
}

/** Width and height from a PNG's IHDR, or undefined when the buffer is not a PNG. */
export function pngSize(buf: Buffer): { width: number; height: number } | undefined {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(sig) || buf.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
