// An answer other than success, thrown by a route and sent by the web worker (hq/web.ts).
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: string,
    readonly contentType?: string,
  ) {
    super(message);
  }
}

/** A JSON error answer, as HQ's JSON views give them. */
export function jsonError(status: number, message: string): HttpError {
  return new HttpError(status, message, JSON.stringify({ error: message }), 'application/json');
}
