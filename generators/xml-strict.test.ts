// Issue 14: malformed XML the parser let through, and DTD entities expanded into case data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSubmission, SubmissionError } from './reader.ts';
import { xmlProblem } from './xml-strict.ts';

const form = (value: string) =>
  `<?xml version="1.0"?><data xmlns="http://example.org/f"><meta xmlns="http://openrosa.org/jr/xforms"><instanceID>i-1</instanceID></meta>` +
  `<n0:case xmlns:n0="http://commcarehq.org/case/transaction/v2" case_id="c-1"><n0:update><n0:note>${value}</n0:note></n0:update></n0:case></data>`;

function refused(xml: string | Uint8Array, message: RegExp): void {
  assert.throws(
    () => readSubmission(xml),
    (err: unknown) => {
      assert.ok(err instanceof SubmissionError, String(err));
      assert.equal(err.code, 'not-xml');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('malformed XML is refused, as HQ refuses it', () => {
  it('bytes that are not UTF-8', () => {
    refused(
      Buffer.concat([Buffer.from(form('a')).subarray(0, 40), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(form('a')).subarray(40)]),
      /not valid UTF-8/,
    );
  });
  it('a NUL byte and other control characters', () => {
    refused(form('a\u0000b'), /U\+0000 is not allowed/);
    refused(form('a\u001bb'), /U\+001B is not allowed/);
    refused(form('\ud800'), /U\+D800 is not allowed/);
  });
  it('character references to characters XML does not allow (&#0;, &#x1;, &#xFFFE;)', () => {
    for (const ref of ['&#0;', '&#x1;', '&#xFFFE;', '&#x110000;']) refused(form(`a${ref}b`), /character reference .* XML does not allow/);
  });
  it('an undefined entity', () => refused(form('a&nbsp;b'), /entity &nbsp; is not defined/));
  it('a "<" in an attribute value (found by the fuzz test)', () => {
    refused('<data xmlns="http://example.org/f"><x a="<"/></data>', /"<" in an attribute value/);
    refused("<data xmlns='http://example.org/f'><x a='b<c'/></data>", /"<" in an attribute value/);
    assert.equal(readSubmission('<data xmlns="http://example.org/f"><x a="&lt;" b=\'"\'>a="x"</x></data>').rootName, 'data');
  });
  it('an undeclared prefix, on an element or an attribute', () => {
    refused('<data xmlns="http://example.org/f"><q:x>1</q:x></data>', /prefix "q" of <q:x> is not declared/);
    refused('<data xmlns="http://example.org/f"><x q:a="1"/></data>', /prefix "q" of attribute q:a/);
  });
  it('still reads what is legal: predefined entities, character references, CDATA, comments with & in them', () => {
    const s = readSubmission(form('&lt;&amp;&#233;&#x1F600;<![CDATA[&foo; <x>]]><!-- &bar; -->'));
    assert.equal(s.cases[0]!.update!.note, '<&é😀&foo; <x>');
  });
  it('points at the line and column', () => {
    assert.deepEqual(xmlProblem('<a>\n  &foo;</a>'), { message: 'entity &foo; is not defined', index: 6 });
  });
});

describe('DTD entities are never expanded: a DOCTYPE is refused', () => {
  const withDtd = `<?xml version="1.0"?><!DOCTYPE data [<!ENTITY hi "EXPANDED">]>${form('&hi;').replace('<?xml version="1.0"?>', '')}`;
  it('an internal entity: refused, nothing of it reaches case data', () => {
    refused(withDtd, /a DOCTYPE is not accepted/);
  });
  it('even when the caller skips validation', () => {
    assert.throws(() => readSubmission(withDtd, { validate: false }), /DOCTYPE is not accepted/);
  });
  it('billion laughs: refused at once', () => {
    const lol =
      `<!DOCTYPE data [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i ? 'b'.repeat(i) : 'a'};`.repeat(10)}">`).join('')}]>` +
      '<data xmlns="http://example.org/f">&bbbbbbbbb;</data>';
    const t = Date.now();
    refused(lol, /DOCTYPE/);
    assert.ok(Date.now() - t < 1000);
  });
  it('a DOCTYPE inside a comment or CDATA is only text', () => {
    assert.equal(readSubmission(form('<![CDATA[<!DOCTYPE x>]]>')).cases[0]!.update!.note, '<!DOCTYPE x>');
  });
});
