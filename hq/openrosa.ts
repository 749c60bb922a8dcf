// OpenRosa response bodies as HQ sends them.
export const OPENROSA_NS = 'http://openrosa.org/http/response';

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function openRosaMessage(nature: string, message: string): string {
  return `<OpenRosaResponse xmlns="${OPENROSA_NS}"><message nature="${nature}">${escapeXml(message)}</message></OpenRosaResponse>`;
}

export const submitSuccess = () => openRosaMessage('submit_success', '   √   ');
