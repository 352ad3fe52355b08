// Bearer-token authentication (tokens mapped to principals) and a per-principal token
// bucket rate limit.
import { readYamlFile } from '../config/validate.js';
import { TokenstormError } from '../errors.js';

export const ANONYMOUS = 'anonymous';

/**
 * Loads `--auth-tokens-file`: a YAML or JSON mapping of bearer token → principal name,
 * e.g. `{ "s3cr3t-token-1": "alice", "s3cr3t-token-2": "bob" }`.
 */
export function loadAuthTokens(path: string): Map<string, string> {
  const raw = readYamlFile(path);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new TokenstormError('E_CONFIG_INVALID', `${path} must map bearer tokens to principal names`, {
      problems: ['write one line per token: "<token>: <principal>"'],
    });
  const tokens = new Map<string, string>();
  const problems: string[] = [];
  for (const [token, principal] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof principal !== 'string' || principal === '')
      problems.push(`${token.slice(0, 4)}…: the principal must be a non-empty string`);
    else if (token.length < 8) problems.push(`${token.slice(0, 4)}…: tokens must be at least 8 characters`);
    else tokens.set(token, principal);
  }
  if (problems.length > 0)
    throw new TokenstormError('E_CONFIG_INVALID', `${path} has ${problems.length} problem(s):`, { problems });
  if (tokens.size === 0) throw new TokenstormError('E_CONFIG_INVALID', `${path} lists no tokens`);
  return tokens;
}

/** Returns the principal for an Authorization header, ANONYMOUS when auth is off, or null. */
export function authenticate(
  tokens: Map<string, string> | undefined,
  header: string | undefined,
): string | null {
  if (tokens === undefined) return ANONYMOUS;
  if (header === undefined || !header.startsWith('Bearer ')) return null;
  return tokens.get(header.slice(7).trim()) ?? null;
}

/** Token buckets per principal: `rate` requests per second sustained, `burst` at once. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** 0 when allowed (a token is taken), else the seconds to wait before retrying. */
  take(principal: string, nowMs: number): number {
    if (this.rate <= 0) return 0;
    let b = this.buckets.get(principal);
    if (b === undefined) {
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(principal, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.rate);
    b.at = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }
}
