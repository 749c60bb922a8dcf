// HQ's API throttle: a web user past its request rate gets 429 with Retry-After, as HQ's API rate limit answers.

/** Requests per second per web user (token bucket of `burst`); CAPACITY_API_RATE sets the rate of the service's workers. */
export class ApiThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perSecond: number,
    private readonly burst = Math.max(1, perSecond),
  ) {}

  /** 0 when the request may go ahead, else the whole seconds to wait (Retry-After). */
  take(key: string, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
