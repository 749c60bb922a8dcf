// OpenRosa response bodies as HQ sends them.
export const OPENROSA_NS = 'http://openrosa.org/http/response';

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function openRosaMessage(nature: string, message: string): string {
  // a message may quote client input: characters XML forbids become U+FFFD, so the answer stays well-formed
  const text = escapeXml(message).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
  return `<OpenRosaResponse xmlns="${OPENROSA_NS}"><message nature="${nature}">${text}</message></OpenRosaResponse>`;
}

export const submitSuccess = () => openRosaMessage('submit_success', '   √   ');
