/** Minimal XML helpers for the renderer (fast path: most values need no escaping). */

const NEEDS_ESCAPE = /[&<>"]/;
const NEEDS_TEXT_ESCAPE = /[&<>]/;

/** Escapes for an attribute value (double-quoted). */
export function esc(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes for element text (quotes stay as they are, as phones write them). */
export function escText(s: string): string {
  if (!NEEDS_TEXT_ESCAPE.test(s)) return s;
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const NS = {
  case: 'http://commcarehq.org/case/transaction/v2',
  ledger: 'http://commcarehq.org/ledger/v1',
  jrx: 'http://openrosa.org/jr/xforms',
  cc: 'http://commcarehq.org/xforms',
  jrm: 'http://dev.commcarehq.org/jr/xforms',
  openrosaResponse: 'http://openrosa.org/http/response',
  sync: 'http://commcarehq.org/sync',
  registration: 'http://openrosa.org/user/registration',
  xforms: 'http://www.w3.org/2002/xforms',
} as const;

/**
 * fast-xml-parser options both XML readers (submissions, XForm definitions) start from: document order kept,
 * attributes as plain keys, every value a string exactly as written.
 */
export const ORDERED_XML_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;
