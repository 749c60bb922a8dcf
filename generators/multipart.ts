/**
 * multipart/form-data bodies as phones send them: the form XML in the file field `xml_submission_file`
 * (file name ending in .xml, Content-Type text/xml), then one part per attachment, named by the file name
 * the form's answer holds. Attachment bytes are made on demand, deterministically (a valid JPEG/MP4 header
 * and seeded filler), so a corpus stores only their names and sizes. Also a parser, for `--validate` and
 * for the receiver. Platform neutral (Uint8Array only).
 */
import { utf8Decode, utf8Encode, utf8Length, utf8Write } from './encoding.ts';
import type { AttachmentRef } from './render.ts';
import { Rng } from './rng.ts';

export const XML_FIELD = 'xml_submission_file';

export interface Part {
  /** The form field name. */
  name: string;
  filename?: string;
  contentType: string;
  data: Uint8Array;
}

export interface MultipartBody {
  body: Uint8Array;
  contentType: string;
  boundary: string;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

const JPEG_HEAD = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];
const JPEG_TAIL = [0xff, 0xd9];
// ISO base media 'ftyp' box (M4A / MP4)
const FTYP = (brand: string) => [0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, ...ascii(brand), 0, 0, 0, 0, ...ascii(brand), ...ascii('isom')];
function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** Bytes for an attachment: a plausible file header, then seeded filler up to `ref.size` bytes. */
export function attachmentBytes(ref: AttachmentRef, seed: string): Uint8Array {
  const out = new Uint8Array(Math.max(ref.size, 64));
  let head: number[];
  let tail: number[] = [];
  if (ref.contentType === 'image/jpeg') {
    head = JPEG_HEAD;
    tail = JPEG_TAIL;
  } else if (ref.contentType === 'audio/mp4') head = FTYP('M4A ');
  else head = FTYP('mp42');
  out.set(head, 0);
  new Rng(seed, 'attachment', ref.name).fill(out, head.length, out.length - tail.length);
  out.set(tail, out.length - tail.length);
  return out;
}

/** A boundary that cannot occur in the XML (the XML never holds "----capacity"). */
export function boundaryFor(seed: string): string {
  return `----capacity${new Rng(seed, 'boundary').hex(12)}`;
}

function headerBytes(s: string): Uint8Array {
  return utf8Encode(s);
}

export function encodeMultipart(parts: Part[], boundary: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const p of parts) {
    const disp = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}\r\nContent-Type: ${p.contentType}\r\n\r\n`;
    const h = headerBytes(disp);
    chunks.push(h, p.data, CRLF);
    total += h.length + p.data.length + 2;
  }
  const end = headerBytes(`--${boundary}--\r\n`);
  chunks.push(end);
  total += end.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const CRLF = new Uint8Array([13, 10]);

export interface SubmissionLike {
  xml: string;
  instanceID: string;
  attachments: AttachmentRef[];
}

/**
 * The multipart body for a submission: `xml_submission_file` + its attachments (pass
 * `attachments: false` to send only the XML part, as a phone does for a form without media).
 */
export function submissionMultipart(sub: SubmissionLike, opts: { attachments?: boolean } = {}): MultipartBody {
  const boundary = boundaryFor(sub.instanceID);
  const xml = new Uint8Array(utf8Length(sub.xml));
  utf8Write(sub.xml, xml, 0);
  const parts: Part[] = [{ name: XML_FIELD, filename: `${sub.instanceID}.xml`, contentType: 'text/xml', data: xml }];
  if (opts.attachments !== false) {
    for (const a of sub.attachments) {
      parts.push({ name: a.name, filename: a.name, contentType: a.contentType, data: attachmentBytes(a, sub.instanceID) });
    }
  }
  return { body: encodeMultipart(parts, boundary), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}

/** The boundary parameter of a multipart Content-Type (throws if it is not multipart/form-data). */
export function boundaryOf(contentType: string): string {
  if (!/^\s*multipart\/form-data\s*(;|$)/i.test(contentType))
    throw new MultipartError(`Content-Type "${contentType}" is not multipart/form-data`);
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m ? (m[1] ?? m[2]) : undefined;
  if (!b) throw new MultipartError(`Content-Type "${contentType}" has no boundary`);
  return b;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const n = needle.length;
  outer: for (let i = hay.indexOf(first!, from); i !== -1 && i + n <= hay.length; i = hay.indexOf(first!, i + 1)) {
    for (let j = 1; j < n; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a multipart/form-data body into parts. */
export function parseMultipart(body: Uint8Array, contentType: string): Part[] {
  const boundary = boundaryOf(contentType);
  const delim = utf8Encode(`--${boundary}`);
  const parts: Part[] = [];
  let pos = indexOf(body, delim, 0);
  if (pos < 0) throw new MultipartError(`body does not contain the boundary "${boundary}"`);
  for (;;) {
    pos += delim.length;
    if (body[pos] === 45 && body[pos + 1] === 45) break; // closing "--"
    if (body[pos] === 13 && body[pos + 1] === 10) pos += 2;
    const headerEnd = indexOf(body, utf8Encode('\r\n\r\n'), pos);
    if (headerEnd < 0) throw new MultipartError(`part ${parts.length + 1} has no end of headers`);
    const headers = utf8Decode(body, pos, headerEnd).split('\r\n');
    const next = indexOf(body, utf8Encode(`\r\n--${boundary}`), headerEnd + 4);
    if (next < 0) throw new MultipartError(`part ${parts.length + 1} is not terminated by the boundary (truncated body?)`);
    let name: string | undefined;
    let filename: string | undefined;
    let partType = 'text/plain';
    for (const h of headers) {
      const [k, ...rest] = h.split(':');
      const v = rest.join(':').trim();
      if (k?.trim().toLowerCase() === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(v)?.[1] ?? /\bname=([^;\s]+)/i.exec(v)?.[1];
        filename = /\bfilename="([^"]*)"/i.exec(v)?.[1];
      } else if (k?.trim().toLowerCase() === 'content-type') {
        partType = v;
      }
    }
    if (name === undefined) throw new MultipartError(`part ${parts.length + 1} has no Content-Disposition name`);
    const part: Part = { name, contentType: partType, data: body.subarray(headerEnd + 4, next) };
    if (filename !== undefined) part.filename = filename;
    parts.push(part);
    pos = next + 2;
  }
  return parts;
}

/** The form XML of a multipart submission (the `xml_submission_file` part). */
export function xmlFromMultipart(body: Uint8Array, contentType: string): { xml: string; parts: Part[] } {
  const parts = parseMultipart(body, contentType);
  const xmlPart = parts.find((p) => p.name === XML_FIELD);
  if (!xmlPart) throw new MultipartError(`no "${XML_FIELD}" part (parts: ${parts.map((p) => p.name).join(', ') || 'none'})`);
  return { xml: utf8Decode(xmlPart.data), parts };
}
