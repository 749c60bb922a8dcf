// Where capacity's k6 build hands its native submission path to the scenarios (scenarios/lib/actions.ts).
// scenarios/lib/native.ts fills it in, and only a script run by that build imports it (scenarios/native-run.ts):
// stock k6 refuses any script that imports an extension it lacks, so the scenario files themselves never do.
import type { Capacity } from 'k6/x/capacity';

export const native: { capacity?: Capacity } = {};
