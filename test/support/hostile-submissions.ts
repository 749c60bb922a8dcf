// Generated malformed and hostile submissions (fast-check arbitraries), for the reader's and the receiver's fuzz
// tests. Each body says what HQ does with it: 'refuse' (not well-formed or not processable), 'accept', or 'either'
// (a random cut or byte may or may not break the XML).
import fc from 'fast-check';

/** Text that only an expanded entity could put into a form: it must never come back out of the reader or HQ. */
export const EXPANDED = 'ZQXEXPANDEDENTITYZQX';

export type Expect = 'refuse' | 'accept' | 'either';

export interface HostileBody {
  what: string;
  body: string | Uint8Array;
  expect: Expect;
}

const CASE_NS = 'http://commcarehq.org/case/transaction/v2';

/** XML-escaped text (element content); characters XML forbids are left in, to be refused. */
export function escText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
const escAttr = (s: string) => escText(s).replace(/"/g, '&quot;');

export interface FormParts {
  instanceId: string;
  caseId: string;
  owner: string;
  note: string;
  dateModified: string;
  quantity: string;
  /** Inserted into the root element, raw. */
  inner?: string;
  /** Before the root element, raw (a DOCTYPE, a BOM...). */
  prolog?: string;
}

/** A form with one case and one ledger balance; values are escaped, `inner` and `prolog` are raw. */
export function formText(p: FormParts): string {
  return (
    `${p.prolog ?? '<?xml version="1.0" encoding="UTF-8"?>'}<data xmlns="http://example.org/fuzz" xmlns:jrm="http://dev.commcarehq.org/jr/xforms">` +
    `<meta xmlns="http://openrosa.org/jr/xforms"><instanceID>${escText(p.instanceId)}</instanceID><userID>${escText(p.owner)}</userID>` +
    `<timeStart>${escText(p.dateModified)}</timeStart><timeEnd>${escText(p.dateModified)}</timeEnd></meta>` +
    `<n0:case xmlns:n0="${CASE_NS}" case_id="${escAttr(p.caseId)}" date_modified="${escAttr(p.dateModified)}" user_id="${escAttr(p.owner)}">` +
    `<n0:create><n0:case_type>fuzz</n0:case_type><n0:case_name>${escText(p.note)}</n0:case_name><n0:owner_id>${escText(p.owner)}</n0:owner_id></n0:create>` +
    `<n0:update><n0:note>${escText(p.note)}</n0:note><n0:date_opened>${escText(p.dateModified)}</n0:date_opened></n0:update></n0:case>` +
    `<balance xmlns="http://commcarehq.org/ledger/v1" entity-id="${escAttr(p.caseId)}" date="2024-01-01" section-id="stock">` +
    `<entry id="p1" quantity="${escAttr(p.quantity)}"/></balance>${p.inner ?? ''}</data>`
  );
}

const uuid = fc.uuid();
/** Strings as hostile as they come: any code unit, lone surrogates, controls, very long. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('/', '.', '\\', '\0', '%', '&', '<', '"', "'", ' ', '\u202e', '\ufeff', 'é', '😀'), maxLength: 30 }),
  fc.constantFrom('', ' ', '..', '../../etc/passwd', '/', 'a/b', 'x'.repeat(300), 'x'.repeat(5000), '\u0000', 'null', 'NaN'),
);
const safeText = fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => s.replace(/[\u0000-\u001f]/g, ''));
const dates = fc.constantFrom(
  '2024-01-01T10:00:00.000Z',
  '2024-02-30',
  '0000-01-01',
  '9999-12-31T23:59:59Z',
  '2024-13-01',
  '2024-01-01T25:61:00',
  '2024-01-01T00:00:00+99:00',
  'yesterday',
  '',
  '-2024-01-01',
  '2024-01-01T00:00:00.1234567890123Z',
  '1970-01-01',
);
const quantities = fc.constantFrom(
  '1',
  '0',
  '-5',
  '1.5',
  '1e400',
  'NaN',
  'Infinity',
  '',
  'x',
  '0x10',
  '1e20',
  '-0',
  '99999999999999999999999',
);

/** A well-formed form with hostile values (ids, dates, quantities): HQ takes it or refuses it as unprocessable. */
export const hostileValues: fc.Arbitrary<HostileBody> = fc
  .record({
    instanceId: fc.oneof(uuid, anyText),
    caseId: fc.oneof(uuid, anyText),
    owner: fc.oneof(uuid, anyText),
    note: anyText,
    dateModified: dates,
    quantity: quantities,
  })
  .map((p) => ({ what: `values ${JSON.stringify(p).slice(0, 200)}`, body: formText(p), expect: 'either' as Expect }));

const base = fc.record({
  instanceId: uuid,
  caseId: uuid,
  owner: fc.constant('fuzz-owner'),
  note: safeText,
  dateModified: fc.constant('2024-01-01T10:00:00.000Z'),
  quantity: fc.constant('3'),
});

/** Markup that is never well-formed, or a DOCTYPE (refused): HQ refuses every one. */
const refusedSnippets: [string, Partial<FormParts>][] = [
  ['internal entity', { prolog: `<?xml version="1.0"?><!DOCTYPE data [<!ENTITY e "${EXPANDED}">]>`, inner: '<x>&e;</x>' }],
  [
    'billion laughs',
    {
      prolog: `<!DOCTYPE data [<!ENTITY a "${EXPANDED}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY f "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>`,
      inner: '<x>&f;&f;&f;&f;</x>',
    },
  ],
  ['external entity', { prolog: '<!DOCTYPE data [<!ENTITY x SYSTEM "file:///etc/passwd">]>', inner: '<x>&x;</x>' }],
  ['parameter entity', { prolog: '<!DOCTYPE data [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>' }],
  ['attribute entity', { prolog: `<!DOCTYPE data [<!ENTITY e "${EXPANDED}">]>`, inner: '<x a="&e;"/>' }],
  ['NUL', { inner: '<x>a\u0000b</x>' }],
  ['control character', { inner: '<x>\u0007</x>' }],
  ['&#0;', { inner: '<x>&#0;</x>' }],
  ['&#x1B;', { inner: '<x a="&#x1B;"/>' }],
  ['&#xFFFF;', { inner: '<x>&#xFFFF;</x>' }],
  ['undefined entity', { inner: '<x>&nbsp;</x>' }],
  ['undefined entity in an attribute', { inner: '<x a="&copy;"/>' }],
  ['undeclared element prefix', { inner: '<q:x>1</q:x>' }],
  ['undeclared attribute prefix', { inner: '<x q:a="1"/>' }],
  ['unclosed element', { inner: '<x>' }],
  ['mismatched tags', { inner: '<x></y>' }],
  ['bare ampersand', { inner: '<x>a & b</x>' }],
  ['less-than in an attribute', { inner: '<x a="<"/>' }],
  ['duplicate attribute', { inner: '<x a="1" a="2"/>' }],
  ['second root', { inner: '</data><data xmlns="x">' }],
  ['deep nesting', { inner: `${'<d>'.repeat(2000)}${'</d>'.repeat(2000)}` }],
  ['unclosed comment', { inner: '<!-- x' }],
  ['unclosed CDATA', { inner: '<![CDATA[ x' }],
];

/** A plain form with one of the snippets in it. */
const withSnippet = (snippets: [string, Partial<FormParts>][], expect: Expect): fc.Arbitrary<HostileBody> =>
  fc.tuple(base, fc.constantFrom(...snippets)).map(([p, [what, parts]]) => ({ what, body: formText({ ...p, ...parts }), expect }));

export const refusedMarkup = withSnippet(refusedSnippets, 'refuse');

/** Legal oddities: HQ accepts them all. */
const acceptedSnippets: [string, Partial<FormParts>][] = [
  ['CDATA with markup', { inner: `<x><![CDATA[<!DOCTYPE x [<!ENTITY e "${EXPANDED}">]> &e; &nbsp; <y>]]></x>` }],
  ['comment with an entity', { inner: '<!-- &e; <!ENTITY --><x/>' }],
  ['character references', { inner: '<x>&#233;&#x1F600;&lt;&amp;&gt;&quot;&apos;</x>' }],
  ['processing instruction', { inner: '<?pi data?><x/>' }],
  ['BOM', { prolog: '\ufeff<?xml version="1.0" encoding="UTF-8"?>' }],
  ['no prolog', { prolog: '' }],
  ['nesting 50 deep', { inner: `${'<d>'.repeat(50)}${'</d>'.repeat(50)}` }],
  ['many attributes', { inner: `<x ${Array.from({ length: 200 }, (_, i) => `a${i}="${i}"`).join(' ')}/>` }],
  ['unicode names', { inner: '<données été="oui">ça</données>' }],
];

export const acceptedOddities = withSnippet(acceptedSnippets, 'accept');

/** A valid form cut short, or with random bytes spliced in: anything may come of it. */
export const damaged: fc.Arbitrary<HostileBody> = fc
  .tuple(base, fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 0, maxLength: 12 }), fc.boolean())
  .map(([p, at, bytes, cut]) => {
    const text = Buffer.from(formText(p));
    const i = Math.floor(at * text.length);
    const body = cut ? text.subarray(0, i) : Buffer.concat([text.subarray(0, i), Buffer.from(bytes), text.subarray(i)]);
    return { what: `${cut ? 'cut' : `${bytes.length} bytes spliced`} at ${i}`, body: new Uint8Array(body), expect: 'either' as Expect };
  });

/** Bytes that are not XML at all, or not UTF-8. */
export const garbage: fc.Arbitrary<HostileBody> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({ what: `${b.length} random bytes`, body: b, expect: 'either' as Expect })),
  base.map((p) => ({
    what: 'UTF-16',
    body: new Uint8Array(Buffer.from(`\ufeff${formText({ ...p, prolog: '<?xml version="1.0" encoding="UTF-16"?>' })}`, 'utf16le')),
    expect: 'either' as Expect,
  })),
  base.map((p) => ({
    what: 'latin1 bytes (not UTF-8)',
    body: new Uint8Array(Buffer.from(formText({ ...p, note: 'caf\u00e9 \u00ff' }), 'latin1')),
    expect: 'refuse' as Expect,
  })),
  fc.constantFrom<HostileBody>(
    { what: 'no root', body: '<?xml version="1.0"?>', expect: 'refuse' },
    { what: 'no xmlns', body: '<data><x/></data>', expect: 'refuse' },
    { what: 'text only', body: 'hello', expect: 'refuse' },
    { what: 'JSON', body: '{"form": {}}', expect: 'refuse' },
  ),
);

export const hostileBody: fc.Arbitrary<HostileBody> = fc.oneof(
  { arbitrary: refusedMarkup, weight: 4 },
  { arbitrary: hostileValues, weight: 3 },
  { arbitrary: damaged, weight: 3 },
  { arbitrary: garbage, weight: 2 },
  { arbitrary: acceptedOddities, weight: 2 },
);
