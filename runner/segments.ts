// Scale-out: k6 execution segments, so N load generators share one scenario. Segment i of N runs the slice
// (i-1)/N:i/N of every executor (its share of the arrival rate and of the VUs); exec.scenario.iterationInTest
// stays unique across all segments, so submission n still maps to one corpus form and no two generators send
// the same instanceID. Every segment must use the same corpus: the same --seed (and app, users, domain).
// Several segments started at once on ONE machine would each generate that corpus when it is not there yet
// (runner/corpus.ts replaces the folder as it finishes, which can pull it from under the other): make it once
// first, as test/integration/segments.test.ts does with prepareCorpus. Separate machines are not affected.
import { UserError } from '../core/errors.ts';

import type { Segment, SegmentInfo } from '../results-dir/index.ts';

export type { Segment, SegmentInfo };

/** Parses `--segment 2/4`. */
export function parseSegment(text: string): Segment {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UserError(`--segment must be i/N (e.g. 1/2), not "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1000) throw new UserError(`--segment ${text}: N must be between 1 and 1000`);
  if (index < 1 || index > count) throw new UserError(`--segment ${text}: i must be between 1 and ${count}`);
  return { index, count };
}

const frac = (n: number, d: number) => (n === 0 ? '0' : n === d ? '1' : `${n}/${d}`);

export function segmentInfo(s: Segment): SegmentInfo {
  const seq = Array.from({ length: s.count + 1 }, (_, i) => frac(i, s.count)).join(',');
  return { ...s, executionSegment: `${frac(s.index - 1, s.count)}:${frac(s.index, s.count)}`, executionSegmentSequence: seq };
}

/** k6 run arguments for one segment (the sequence keeps every segment's slice consistent with the others). */
export function k6SegmentArgs(s: Segment): string[] {
  const info = segmentInfo(s);
  return ['--execution-segment', info.executionSegment, '--execution-segment-sequence', info.executionSegmentSequence];
}

/** For results folder names: seg1of2. */
export function segmentLabel(s: Segment): string {
  return `seg${s.index}of${s.count}`;
}
