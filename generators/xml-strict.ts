/**
 * What XML 1.0 forbids but fast-xml-parser lets through, checked before a submission is read: characters
 * outside XML's Char production (NUL, other C0 controls, U+FFFE/U+FFFF, lone surrogates), character references
 * to them (`&#0;`), references to entities that are not declared (only the five predefined ones can be: a
 * DOCTYPE is refused), any markup declaration (`<!DOCTYPE`, `<!ENTITY`), and a `<` in an attribute value.
 *
 * DOCTYPEs are refused rather than read: no CommCare client sends one, and refusing them means internal entities
 * can never be expanded into case data (nor blow up, as "billion laughs" does). Platform neutral (runs in k6).
 */

export interface XmlProblem {
  message: string;
  /** Index in the text where the problem is. */
  index: number;
}

const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

export function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Comments and CDATA sections blanked out (same length, so indexes stay true): their content is literal. */
function blankLiterals(text: string): string {
  if (!text.includes('<!')) return text;
  return text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => ' '.repeat(m.length));
}

function illegalChar(text: string): XmlProblem | undefined {
  // fast path: nothing below U+0020 but tab/LF/CR, no surrogates, no U+FFFE/U+FFFF
  if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (!isXmlChar(c) || (c >= 0xd800 && c <= 0xdfff)) {
      return { message: `character U+${c.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, index: i };
    }
  }
  return undefined;
}

/** The first thing in `text` that makes it not well-formed XML (as XML 1.0 defines it) that the parser misses. */
export function xmlProblem(text: string): XmlProblem | undefined {
  const bad = illegalChar(text);
  if (bad) return bad;
  const markup = blankLiterals(text);
  const decl = markup.indexOf('<!');
  if (decl >= 0) {
    const what = /^<!DOCTYPE/.test(markup.slice(decl, decl + 9)) ? 'a DOCTYPE' : 'a markup declaration';
    return { message: `${what} is not accepted (entities are never expanded)`, index: decl };
  }
  const ref = /&(#x[0-9A-Fa-f]+|#[0-9]+|[^\s&;<]*);?/g;
  for (let m = ref.exec(markup); m; m = ref.exec(markup)) {
    const name = m[1]!;
    if (!m[0].endsWith(';')) continue; // a bare & is the parser's to report
    if (name[0] === '#') {
      const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (!isXmlChar(cp)) return { message: `character reference &${name}; is to a character XML does not allow`, index: m.index };
    } else if (!PREDEFINED.has(name)) {
      return { message: `entity &${name}; is not defined`, index: m.index };
    }
  }
  return markup.includes('="') || markup.includes("='") ? attributeProblem(markup) : undefined;
}

/** A "<" inside a quoted attribute value (the parser takes `<x a="<"/>`). Tags are read honouring their quotes. */
function attributeProblem(markup: string): XmlProblem | undefined {
  for (let i = markup.indexOf('<'); i >= 0;) {
    if (markup[i + 1] === '?') {
      const end = markup.indexOf('?>', i + 2);
      if (end < 0) return undefined; // the parser's to report
      i = markup.indexOf('<', end + 2);
      continue;
    }
    let quote = '';
    let j = i + 1;
    for (; j < markup.length; j++) {
      const c = markup[j];
      if (quote) {
        if (c === quote) quote = '';
        else if (c === '<') return { message: 'a "<" in an attribute value is not allowed', index: j };
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
    }
    i = markup.indexOf('<', j + 1);
  }
  return undefined;
}

/** 1-based line and column of `index` in `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: index - start + 1 };
}
