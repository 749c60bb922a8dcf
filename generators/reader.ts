/**
 * Reads any CommCare form submission (XForm instance XML) into a structured object: the form's xmlns, the
 * meta block (normalised: namespaced or not, modern or old capitalised names like DeviceID/TimeStart/uid),
 * every case block (namespace http://commcarehq.org/case/transaction/v2, at any depth, with any prefix;
 * several blocks for one case are kept in document order) and every ledger block (ledger/v1 balance and
 * transfer, in both the per-section and the per-entry layout).
 *
 * Bad input throws a SubmissionError whose message says what is wrong and where. Platform neutral: used by
 * the generator's tests, `capacity generate --validate`, and the HQ-compatible receiver.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { utf8Decode } from './encoding.ts';
import { NS, ORDERED_XML_OPTIONS } from './xml.ts';
import { lineColumn, xmlProblem } from './xml-strict.ts';

export type SubmissionErrorCode = 'empty' | 'not-xml' | 'no-xmlns' | 'bad-case' | 'bad-ledger';

export class SubmissionError extends Error {
  readonly code: SubmissionErrorCode;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(code: SubmissionErrorCode, message: string, line?: number, column?: number) {
    super(message);
    this.name = 'SubmissionError';
    this.code = code;
    this.line = line;
    this.column = column;
  }
}

export interface SubmissionMeta {
  instanceID?: string;
  deviceID?: string;
  timeStart?: string;
  timeEnd?: string;
  username?: string;
  userID?: string;
  appVersion?: string;
  location?: string;
  drift?: string;
  /** Namespace URI of the meta element ('' when it has none, as in old forms). */
  namespace: string;
  /** Every child of meta by its local name as written (so DeviceID stays DeviceID). */
  raw: Record<string, string>;
}

export type CaseActionName = 'create' | 'update' | 'index' | 'attachment' | 'close';

export interface CaseIndexRef {
  caseType: string;
  caseId: string;
  relationship: 'child' | 'extension';
}

export interface CaseAttachmentRef {
  src?: string;
  from?: string;
  name?: string;
  /** An empty attachment element removes the attachment. */
  remove: boolean;
}

export interface CaseBlock {
  caseId: string;
  dateModified?: string;
  userId?: string;
  /** Where the block sits, by local names: e.g. /data/subcase_0/case. */
  path: string;
  /** Actions in document order. */
  actions: CaseActionName[];
  create?: { caseType?: string; caseName?: string; ownerId?: string };
  update?: Record<string, string>;
  index?: Record<string, CaseIndexRef>;
  attachment?: Record<string, CaseAttachmentRef>;
  close: boolean;
}

export interface LedgerEntry {
  productId: string;
  sectionId: string;
  quantity: number;
}

export interface LedgerBlock {
  kind: 'balance' | 'transfer';
  path: string;
  /** balance: entity-id; transfer: none (see src/dest). */
  entityId?: string;
  src?: string;
  dest?: string;
  date?: string;
  /** Section of the block (absent in the per-entry layout, where each entry carries its own). */
  sectionId?: string;
  type?: string;
  entries: LedgerEntry[];
}

export interface Submission {
  /** Local name of the root element (usually `data`). */
  rootName: string;
  /** The form's xmlns: the namespace of the root element. */
  xmlns: string;
  name?: string;
  version?: string;
  uiVersion?: string;
  meta: SubmissionMeta | undefined;
  cases: CaseBlock[];
  ledgers: LedgerBlock[];
  /** Things HQ tolerates but that look wrong (no meta, no instanceID, a second meta block...). */
  warnings: string[];
}

export interface ReadOptions {
  /** Check well-formedness first (default true). Without it, broken XML may read as something else. */
  validate?: boolean;
}

type XNode = Record<string, unknown>;
type Scope = Record<string, string>;

const parser = new XMLParser({
  ...ORDERED_XML_OPTIONS,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  processEntities: true,
  htmlEntities: true, // decodes character references (&#233;); named HTML ones are refused first (xml-strict)
});

const META_KEYS: Record<string, keyof Omit<SubmissionMeta, 'raw' | 'namespace'>> = {
  instanceid: 'instanceID',
  uid: 'instanceID',
  deviceid: 'deviceID',
  timestart: 'timeStart',
  timeend: 'timeEnd',
  username: 'username',
  userid: 'userID',
  appversion: 'appVersion',
  location: 'location',
  drift: 'drift',
};

function tagOf(node: XNode): string | undefined {
  for (const k in node) if (k !== ':@') return k;
  return undefined;
}

function attrsOf(node: XNode): Record<string, string> | undefined {
  return node[':@'] as Record<string, string> | undefined;
}

function childrenOf(node: XNode, tag: string): XNode[] {
  const c = node[tag];
  return Array.isArray(c) ? (c as XNode[]) : [];
}

function textOf(children: XNode[]): string {
  let s = '';
  for (const c of children) {
    const t = c['#text'];
    if (t !== undefined) s += String(t);
    else if (c['#cdata'] !== undefined) s += textOf(c['#cdata'] as XNode[]);
  }
  return s;
}

function split(tag: string): [string, string] {
  const i = tag.indexOf(':');
  return i < 0 ? ['', tag] : [tag.slice(0, i), tag.slice(i + 1)];
}

/** The scope for an element: its parent's plus its own xmlns declarations (copied only if it has some). */
function scopeFor(attrs: Record<string, string> | undefined, parent: Scope): Scope {
  if (!attrs) return parent;
  let scope = parent;
  for (const k in attrs) {
    if (k === 'xmlns') {
      if (scope === parent) scope = { ...parent };
      scope[''] = attrs[k]!;
    } else if (k.startsWith('xmlns:')) {
      if (scope === parent) scope = { ...parent };
      scope[k.slice(6)] = attrs[k]!;
    }
  }
  return scope;
}

/** libxml2's default nesting limit (HQ parses with lxml): deeper documents are refused, not recursed into. */
export const MAX_XML_DEPTH = 256;

/**
 * Namespaces in XML: every prefix an element or attribute uses must be declared (xml is built in). Also bounds the
 * depth, so the recursive walk below cannot overflow the stack. Iterative for the same reason.
 */
function checkTree(root: XNode, top: Scope): void {
  const stack: Array<[XNode, Scope, number]> = [[root, top, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, parent, depth] = item;
    const tag = tagOf(node);
    if (tag === undefined || tag[0] === '#') continue;
    if (depth > MAX_XML_DEPTH) throw new SubmissionError('not-xml', `not well-formed XML: elements nested more than ${MAX_XML_DEPTH} deep`);
    const attrs = attrsOf(node);
    const scope = scopeFor(attrs, parent);
    const [prefix] = split(tag);
    if (prefix && scope[prefix] === undefined)
      throw new SubmissionError('not-xml', `not well-formed XML: prefix "${prefix}" of <${tag}> is not declared`);
    for (const k in attrs) {
      const [p] = split(k);
      if (p && p !== 'xmlns' && scope[p] === undefined)
        throw new SubmissionError('not-xml', `not well-formed XML: prefix "${p}" of attribute ${k} on <${tag}> is not declared`);
    }
    for (const kid of childrenOf(node, tag)) stack.push([kid, scope, depth + 1]);
  }
}

// Native decoder where there is one (Node): fatal, so bytes that are not UTF-8 are refused, not replaced. k6 has
// none, so it falls back to the lenient JS decoder (k6 reads what the harness generated, never a stranger's bytes).
const nativeDecoder: { decode(b: Uint8Array): string } | undefined =
  typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8', { ignoreBOM: false, fatal: true }) : undefined;

function toBytesString(xml: string | Uint8Array): string {
  if (typeof xml === 'string') return xml;
  if (nativeDecoder) {
    try {
      return nativeDecoder.decode(xml); // strips a BOM
    } catch {
      throw new SubmissionError('not-xml', 'not well-formed XML: the bytes are not valid UTF-8');
    }
  }
  let start = 0;
  if (xml[0] === 0xef && xml[1] === 0xbb && xml[2] === 0xbf) start = 3;
  return utf8Decode(xml, start);
}

class Reader {
  readonly cases: CaseBlock[] = [];
  readonly ledgers: LedgerBlock[] = [];
  readonly warnings: string[] = [];
  meta: SubmissionMeta | undefined;

  walk(nodes: XNode[], scope: Scope, path: string, depth: number): void {
    for (const node of nodes) {
      const tag = tagOf(node);
      if (tag === undefined || tag[0] === '#') continue;
      const attrs = attrsOf(node);
      const s = scopeFor(attrs, scope);
      const [prefix, local] = split(tag);
      const here = `${path}/${local}`;
      const ns = s[prefix] ?? '';
      const kids = childrenOf(node, tag);
      if (local === 'case' && ns === NS.case) {
        this.caseBlock(kids, attrs ?? {}, here);
      } else if ((local === 'balance' || local === 'transfer') && ns === NS.ledger) {
        this.ledger(local, kids, attrs ?? {}, here);
      } else if (local === 'meta' && (ns === NS.jrx || depth === 1)) {
        if (this.meta) this.warnings.push(`a second meta block at ${here} was ignored`);
        else this.meta = this.readMeta(kids, ns);
      } else {
        if (local === 'case' && attrs?.case_id !== undefined) {
          this.warnings.push(`element ${here} has a case_id but is not in the case namespace ${NS.case}: not read as a case block`);
        }
        if (kids.length > 0) this.walk(kids, s, here, depth + 1);
      }
    }
  }

  private readMeta(kids: XNode[], ns: string): SubmissionMeta {
    const meta: SubmissionMeta = { namespace: ns, raw: {} };
    for (const k of kids) {
      const tag = tagOf(k);
      if (tag === undefined || tag[0] === '#') continue;
      const local = split(tag)[1];
      const value = textOf(childrenOf(k, tag));
      meta.raw[local] = value;
      const key = META_KEYS[local.toLowerCase()];
      if (key && meta[key] === undefined) meta[key] = value;
    }
    return meta;
  }

  private caseBlock(kids: XNode[], attrs: Record<string, string>, path: string): void {
    const n = this.cases.length + 1;
    const caseId = attrs.case_id?.trim();
    if (!caseId) throw new SubmissionError('bad-case', `case block #${n} at ${path} has no case_id attribute`);
    const block: CaseBlock = { caseId, path, actions: [], close: false };
    if (attrs.date_modified !== undefined) block.dateModified = attrs.date_modified;
    if (attrs.user_id !== undefined) block.userId = attrs.user_id;
    const where = `case block #${n} (case_id ${caseId}) at ${path}`;
    for (const k of kids) {
      const tag = tagOf(k);
      if (tag === undefined || tag[0] === '#') continue;
      const action = split(tag)[1];
      const inner = childrenOf(k, tag);
      switch (action) {
        case 'create': {
          const create: NonNullable<CaseBlock['create']> = {};
          for (const f of inner) {
            const ft = tagOf(f);
            if (ft === undefined || ft[0] === '#') continue;
            const fl = split(ft)[1];
            const v = textOf(childrenOf(f, ft));
            if (fl === 'case_type') create.caseType = v;
            else if (fl === 'case_name') create.caseName = v;
            else if (fl === 'owner_id') create.ownerId = v;
          }
          if (!create.caseType) throw new SubmissionError('bad-case', `${where}: create has no case_type`);
          if (create.caseName === undefined) this.warnings.push(`${where}: create has no case_name`);
          block.create = create;
          break;
        }
        case 'update': {
          const update = (block.update ??= {});
          for (const f of inner) {
            const ft = tagOf(f);
            if (ft === undefined || ft[0] === '#') continue;
            update[split(ft)[1]] = textOf(childrenOf(f, ft));
          }
          break;
        }
        case 'index': {
          const index = (block.index ??= {});
          for (const f of inner) {
            const ft = tagOf(f);
            if (ft === undefined || ft[0] === '#') continue;
            const identifier = split(ft)[1];
            const fa = attrsOf(f) ?? {};
            const caseType = fa.case_type;
            if (!caseType) throw new SubmissionError('bad-case', `${where}: index "${identifier}" has no case_type attribute`);
            const rel = fa.relationship ?? 'child';
            if (rel !== 'child' && rel !== 'extension')
              throw new SubmissionError(
                'bad-case',
                `${where}: index "${identifier}" has relationship "${rel}" (expected child or extension)`,
              );
            index[identifier] = { caseType, caseId: textOf(childrenOf(f, ft)).trim(), relationship: rel };
          }
          break;
        }
        case 'attachment': {
          const att = (block.attachment ??= {});
          for (const f of inner) {
            const ft = tagOf(f);
            if (ft === undefined || ft[0] === '#') continue;
            const fa = attrsOf(f) ?? {};
            const ref: CaseAttachmentRef = { remove: fa.src === undefined && textOf(childrenOf(f, ft)) === '' };
            if (fa.src !== undefined) ref.src = fa.src;
            if (fa.from !== undefined) ref.from = fa.from;
            if (fa.name !== undefined) ref.name = fa.name;
            att[split(ft)[1]] = ref;
          }
          break;
        }
        case 'close':
          block.close = true;
          break;
        default:
          this.warnings.push(`${where}: unknown element <${action}> ignored`);
          continue;
      }
      if (!block.actions.includes(action as CaseActionName)) block.actions.push(action as CaseActionName);
    }
    this.cases.push(block);
  }

  private ledger(kind: 'balance' | 'transfer', kids: XNode[], attrs: Record<string, string>, path: string): void {
    const where = `ledger ${kind} #${this.ledgers.length + 1} at ${path}`;
    const block: LedgerBlock = { kind, path, entries: [] };
    if (attrs['entity-id'] !== undefined) block.entityId = attrs['entity-id'];
    if (attrs.src !== undefined) block.src = attrs.src;
    if (attrs.dest !== undefined) block.dest = attrs.dest;
    if (attrs.date !== undefined) block.date = attrs.date;
    if (attrs['section-id'] !== undefined) block.sectionId = attrs['section-id'];
    if (attrs.type !== undefined) block.type = attrs.type;
    if (kind === 'balance' && !block.entityId) throw new SubmissionError('bad-ledger', `${where} has no entity-id`);
    if (kind === 'transfer' && !block.src && !block.dest) throw new SubmissionError('bad-ledger', `${where} has neither src nor dest`);
    const qty = (raw: string | undefined, what: string): number => {
      const q = raw === undefined ? NaN : Number(raw);
      if (raw === undefined || raw.trim() === '' || !Number.isFinite(q)) {
        throw new SubmissionError(
          'bad-ledger',
          `${where}: ${what} has quantity ${raw === undefined ? '(missing)' : JSON.stringify(raw)}, not a number`,
        );
      }
      return q;
    };
    for (const k of kids) {
      const tag = tagOf(k);
      if (tag === undefined || tag[0] === '#') continue;
      if (split(tag)[1] !== 'entry') continue;
      const ea = attrsOf(k) ?? {};
      const productId = ea.id;
      if (!productId) throw new SubmissionError('bad-ledger', `${where}: an entry has no id`);
      if (block.sectionId !== undefined) {
        block.entries.push({ productId, sectionId: block.sectionId, quantity: qty(ea.quantity, `entry ${productId}`) });
      } else {
        // per-entry layout: <entry id="p"><value section-id="s" quantity="n"/></entry>
        let any = false;
        for (const v of childrenOf(k, tag)) {
          const vt = tagOf(v);
          if (vt === undefined || split(vt)[1] !== 'value') continue;
          const va = attrsOf(v) ?? {};
          if (!va['section-id']) throw new SubmissionError('bad-ledger', `${where}: entry ${productId} has a value without section-id`);
          block.entries.push({ productId, sectionId: va['section-id'], quantity: qty(va.quantity, `entry ${productId}`) });
          any = true;
        }
        if (!any)
          throw new SubmissionError(
            'bad-ledger',
            `${where}: entry ${productId} has no section-id (neither on the block nor in <value> children)`,
          );
      }
    }
    this.ledgers.push(block);
  }
}

/**
 * Reads a submission. Accepts the XML as a string or UTF-8 bytes (the xml_submission_file part).
 * Throws SubmissionError (code + message naming the element) when it is not a readable submission.
 */
export function readSubmission(xml: string | Uint8Array, opts: ReadOptions = {}): Submission {
  const text = toBytesString(xml);
  if (text.trim() === '') throw new SubmissionError('empty', 'empty submission (no XML)');
  if (opts.validate !== false) {
    const p = xmlProblem(text);
    if (p) {
      const { line, column } = lineColumn(text, p.index);
      throw new SubmissionError('not-xml', `not well-formed XML at line ${line}, column ${column}: ${p.message}`, line, column);
    }
    const v = XMLValidator.validate(text);
    if (v !== true) {
      const { line, col, msg } = v.err;
      throw new SubmissionError('not-xml', `not well-formed XML at line ${line}${col ? `, column ${col}` : ''}: ${msg}`, line, col);
    }
  }
  // Never parse a DOCTYPE, even unvalidated: its entities would be expanded into case data.
  if (opts.validate === false && text.includes('<!DOCTYPE'))
    throw new SubmissionError('not-xml', 'a DOCTYPE is not accepted (entities are never expanded)');
  let doc: XNode[];
  try {
    doc = parser.parse(text) as XNode[];
  } catch (err) {
    throw new SubmissionError('not-xml', `not well-formed XML: ${(err as Error).message}`);
  }
  const roots = doc.filter((n) => {
    const t = tagOf(n);
    return t !== undefined && t[0] !== '#' && t[0] !== '?';
  });
  if (roots.length === 0) throw new SubmissionError('not-xml', 'no root element');
  if (roots.length > 1)
    throw new SubmissionError('not-xml', `more than one root element (<${tagOf(roots[0]!)}> and <${tagOf(roots[1]!)}>)`);
  const root = roots[0]!;
  const rootTag = tagOf(root)!;
  const rootAttrs = attrsOf(root) ?? {};
  const scope = scopeFor(rootAttrs, { xml: 'http://www.w3.org/XML/1998/namespace' });
  const [prefix, rootName] = split(rootTag);
  checkTree(root, { xml: 'http://www.w3.org/XML/1998/namespace' });
  const xmlns = scope[prefix] ?? '';
  if (!xmlns) throw new SubmissionError('no-xmlns', `root element <${rootTag}> has no xmlns (the form's namespace)`);
  const r = new Reader();
  r.walk(childrenOf(root, rootTag), scope, `/${rootName}`, 1);
  if (!r.meta) r.warnings.push('no meta block');
  else if (!r.meta.instanceID) r.warnings.push('meta has no instanceID');
  const sub: Submission = { rootName, xmlns, meta: r.meta, cases: r.cases, ledgers: r.ledgers, warnings: r.warnings };
  if (rootAttrs.name !== undefined) sub.name = rootAttrs.name;
  if (rootAttrs.version !== undefined) sub.version = rootAttrs.version;
  if (rootAttrs.uiVersion !== undefined) sub.uiVersion = rootAttrs.uiVersion;
  return sub;
}

/** Distinct case ids a submission touches, in first-seen order. */
export function caseIdsOf(sub: Submission): string[] {
  const seen = new Set<string>();
  for (const c of sub.cases) seen.add(c.caseId);
  return [...seen];
}

/**
 * Folds several blocks for one case into one view per case (as HQ applies them in order):
 * creates/updates merge, indices merge, close wins.
 */
export function caseSummary(sub: Submission): Map<string, Omit<CaseBlock, 'path' | 'dateModified' | 'userId'>> {
  const out = new Map<string, Omit<CaseBlock, 'path' | 'dateModified' | 'userId'>>();
  for (const b of sub.cases) {
    let s = out.get(b.caseId);
    if (!s) out.set(b.caseId, (s = { caseId: b.caseId, actions: [], close: false }));
    for (const a of b.actions) if (!s.actions.includes(a)) s.actions.push(a);
    if (b.create) s.create = { ...s.create, ...b.create };
    if (b.update) s.update = { ...s.update, ...b.update };
    if (b.index) s.index = { ...s.index, ...b.index };
    if (b.attachment) s.attachment = { ...s.attachment, ...b.attachment };
    if (b.close) s.close = true;
  }
  return out;
}
