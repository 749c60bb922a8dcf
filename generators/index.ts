/**
 * Public API of the generators (platform neutral: runs in Node and, bundled, in k6).
 *
 *   parseApp / parseAppText / appFromXForms   app model from YAML/JSON or XForm definitions
 *   Population(app, options)                  N mobile workers; .timeline(i).next() -> GeneratedSubmission
 *   readSubmission(xml)                       any CommCare submission -> Submission (throws SubmissionError)
 *   submissionMultipart / xmlFromMultipart    multipart bodies (xml_submission_file + attachments)
 *   submissionRequest / restoreRequest / RestoreSession / readRestoreResponse / readSubmitResponse
 */
export * from './app.ts';
export * from './builtin.ts';
export * from './population.ts';
export * from './reader.ts';
export * from './multipart.ts';
export * from './requests.ts';
export * from './xform.ts';
export { LOCALES, LOCALE_NAMES, isLocaleName, type LocaleName } from './locales.ts';
export { Rng, seedFor, isUuid } from './rng.ts';
export { base64Decode, base64Encode, utf8Decode, utf8Encode } from './encoding.ts';
export type { Recipe, RenderOutput } from './render.ts';
