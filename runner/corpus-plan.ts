// Shape -> pool -> corpus: what a run (or a k8s archive) of a scenario sends, planned once for both.
import { type Ownership, corpusForms } from '../scenarios/lib/ownership.ts';
import { corpusSubmissions, type ScenarioName, type ShapeParams } from '../scenarios/lib/shapes.ts';
import type { WorkerIdentity } from '../generators/population.ts';
import { prepareCorpus, type PreparedCorpus } from './corpus.ts';
import { planOwnership } from './pool.ts';

export interface CorpusPlanInput {
  /** the k6 binary that plans the VU pool */
  binary: string;
  scenario: ScenarioName;
  shape: ShapeParams;
  baseUrl: string;
  domain: string;
  app: string;
  users: number;
  seed: number;
  /** a real HQ's workers, worker i as identities[i] (undefined: the generated workers) */
  identities?: WorkerIdentity[];
  /** load generators sharing the scenario (k6 execution segments, or k8s runner pods) */
  segments: number;
  /** run scenarios/native-run.ts on capacity's k6 build */
  native?: boolean;
  /** the capacity home whose corpora/ caches generated corpora */
  home: string;
  log: (msg: string) => void;
}

export interface CorpusPlan {
  script: string;
  ownership: Ownership;
  corpus: PreparedCorpus;
}

/** The VU pool as k6 plans it, then the corpus: every worker holds what its VU can ask of it. */
export async function planCorpus(p: CorpusPlanInput): Promise<CorpusPlan> {
  const { script, ownership } = await planOwnership(
    p.binary,
    p.scenario,
    { baseUrl: p.baseUrl, domain: p.domain, shape: { ...p.shape } },
    p.users,
    p.segments,
    { native: p.native },
  );
  const count = corpusForms(ownership, corpusSubmissions(p.scenario, p.shape));
  const corpus = await prepareCorpus(
    p.home,
    { app: p.app, users: p.users, count, seed: p.seed, domain: p.domain, identities: p.identities },
    p.log,
  );
  return { script, ownership, corpus };
}
