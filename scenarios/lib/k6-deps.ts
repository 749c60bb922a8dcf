// The generator code the scenarios need inside k6 (restore requests and the restore response reader),
// bundled by `capacity run` with esbuild into generated/requests.k6.js: small, so 100+ VUs start quickly.
export { RestoreSession, readRestoreResponse } from '../../generators/requests.ts';
