// The results directory's one public face: every file's type, the reader and the writer. Run, merge, gate,
// report, calibrate and audit use only this module to touch a results directory.
export * from './directory.ts';
export * from './load.ts';
export * from './manifest.ts';
export * from './records.ts';
export * from './request-log.ts';
export * from './sample-store.ts';
export * from './sample.ts';
export * from './summary.ts';
export * from './timeseries.ts';
