// The body packs `capacity run` writes into a corpus (runner/corpus.ts) and the scenarios read (actions.ts).

export const RAW_XML_CONTENT_TYPE = 'text/xml; charset=utf-8';

/** bodies/layout.json: what the packer wrote (bodies/w<i>.bin and bodies/w<i>.json per worker). */
/** Packs of an older format are written again from the corpus's forms. */
export const PACK_FORMAT = 3;

export interface PackLayout {
  format: number;
  /** Form ids; a worker's index names its forms by position in this list. */
  forms: string[];
}

/** bodies/w<i>.json: a worker's bodies in timeline order, packed back to back in w<i>.bin. */
export interface WorkerPackIndex {
  lengths: number[];
  forms: number[];
  /** Content-Type of each body (a multipart body's carries its own boundary). */
  types: string[];
}
