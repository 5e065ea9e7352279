import { setTimeout as delay } from 'node:timers/promises';
import { parseChallenges, planAuth, type AuthPlan } from '../../core/registry/challenge.js';
import {
  DEFAULT_RETRY,
  isRetryableStatus,
  retryDecision,
  type RetryPolicy,
} from '../../core/registry/retry.js';
import { isIngotError } from '../../domain/errors.js';
import { RegistryError } from '../../domain/registry.js';
import { safeJson } from '../shared/safe-json.js';
import type { RegistryOptions } from '../../ports/registry.js';
import {
  Transport,
  discard,
  readBounded,
  type Answer,
  type Body,
  type Exchange,
} from './transport.js';

export interface SessionOptions extends RegistryOptions {
  readonly retry?: RetryPolicy;
  /** Redirects followed for one request. */
  readonly maxRedirects?: number;
  readonly timeoutMs?: number;
  /** The clock and the wait, injectable so that tests of backoff need not sleep. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Call {
  readonly method: Exchange['method'];
  /** A path on the registry (`/v2/…`) or an absolute URL it gave us (an upload Location). */
  readonly path: string;
  readonly headers?: Exchange['headers'];
  readonly body?: Body;
  /** The token scope this call needs (`repository:<repo>:pull,push`). */
  readonly scope: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_TOKEN_ANSWER = 64 * 1024;

/**
 * One registry's HTTP conversation: authentication (basic, or bearer tokens obtained with
 * the credentials), bounded retries on 429/5xx, and bounded redirects. Every other status is
 * returned for the caller to judge.
 */
export class Session {
  readonly origin: string;
  private readonly tokens = new Map<string, string>();
  private basic = false;
  /** Its connections, kept alive across calls (and shared with the token service). */
  private readonly transport: Transport;

  constructor(private readonly options: SessionOptions) {
    this.origin = `${options.plainHttp ? 'http' : 'https'}://${options.authority}`;
    this.transport = new Transport({
      ...(options.ca !== undefined && { ca: options.ca }),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /** Close its connections; the session is not used after. */
  close(): Promise<void> {
    return this.transport.close();
  }

  async send(call: Call): Promise<Answer> {
    const policy = this.options.retry ?? DEFAULT_RETRY;
    const now = this.options.now ?? Date.now;
    const sleep = this.options.sleep ?? ((ms: number) => delay(ms));
    const maxRedirects = this.options.maxRedirects ?? 5;
    let url = new URL(call.path, this.origin);
    let method = call.method;
    let body = call.body;
    let attempt = 0;
    let authTried = false;
    const visited = new Set<string>();
    for (;;) {
      attempt++;
      const headers = { ...call.headers, ...this.authHeader(url, call.scope) };
      let answer: Answer;
      try {
        answer = await this.transport.exchange({ method, url, headers, ...(body && { body }) });
      } catch (err) {
        if (
          !isIngotError(err) ||
          err.code !== 'E_REGISTRY_CONNECT' ||
          err.details['transient'] !== true
        )
          throw err;
        const d = retryDecision(policy, attempt, 0, null, now(), Math.random());
        if (!d.retry) throw err;
        await sleep(d.delayMs);
        continue;
      }
      const { status } = answer;

      if (status === 401 && url.origin === this.origin) {
        const challenge = answer.headers['www-authenticate'];
        await discard(answer);
        if (authTried)
          throw new RegistryError(
            'E_REGISTRY_UNAUTHORIZED',
            `${this.options.authority} refused ${method} ${url.pathname} even after authenticating${this.options.credentials ? ' (check the user name and password)' : ''}`,
            { status, url: url.pathname },
          );
        authTried = true;
        attempt--;
        await this.authenticate(challenge ?? '', call.scope);
        continue;
      }
      if (status === 403) {
        await discard(answer);
        throw new RegistryError(
          'E_REGISTRY_UNAUTHORIZED',
          `${this.options.authority} denied ${method} ${url.pathname} (403): these credentials may not do that`,
          { status, url: url.pathname },
        );
      }

      if (REDIRECTS.has(status)) {
        const location = answer.headers.location;
        await discard(answer);
        const next = location === undefined ? null : safeUrl(location, url);
        if (next === null) throw redirectError(`a ${status} without a usable Location`, url);
        // Threat: a redirect from https to http would expose tokens and content to the path.
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.options.plainHttp))
          throw redirectError(
            `a redirect to ${next.protocol} (only https, or http with --plain-http)`,
            url,
          );
        const key = `${method} ${next.href}`;
        if (visited.has(key) || visited.size >= maxRedirects)
          throw redirectError(
            visited.has(key) ? 'a redirect loop' : `more than ${maxRedirects} redirects`,
            url,
          );
        visited.add(key);
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        attempt--;
        continue;
      }

      if (isRetryableStatus(status)) {
        const retryAfter = answer.headers['retry-after'];
        await discard(answer);
        const d = retryDecision(policy, attempt, status, retryAfter ?? null, now(), Math.random());
        if (!d.retry)
          throw new RegistryError(
            'E_REGISTRY_UNAVAILABLE',
            `${this.options.authority} answered ${status} to ${method} ${url.pathname} ${d.reason === 'retry-after-too-long' ? `and asked to wait longer than ${policy.maxRetryAfterMs / 1000} s` : `${attempt} times`}: try again later`,
            { status, attempts: attempt },
          );
        await sleep(d.delayMs);
        continue;
      }
      return answer;
    }
  }

  /** Credentials go only to the registry itself: never to where it redirected us (a blob store). */
  private authHeader(url: URL, scope: string): Record<string, string> {
    if (url.origin !== this.origin) return {};
    const token = this.tokens.get(scope);
    if (token !== undefined) return { authorization: `Bearer ${token}` };
    if (this.basic && this.options.credentials)
      return { authorization: basicAuth(this.options.credentials) };
    return {};
  }

  private async authenticate(header: string, scope: string): Promise<void> {
    const plan = planAuth(parseChallenges(header));
    if (plan.kind === 'basic') {
      if (!this.options.credentials) throw this.noCredentials();
      this.basic = true;
      return;
    }
    this.tokens.set(scope, await this.fetchToken(plan, scope));
  }

  /** The distribution token flow: GET realm?service=&scope= with the credentials, if any. */
  private async fetchToken(
    plan: Extract<AuthPlan, { kind: 'bearer' }>,
    scope: string,
  ): Promise<string> {
    const realm = safeUrl(plan.realm, new URL(this.origin));
    // Threat: the registry names the realm; our password must not go there in clear text.
    if (
      realm === null ||
      (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && this.options.plainHttp))
    )
      throw new RegistryError(
        'E_REGISTRY_CHALLENGE',
        `the token realm ${JSON.stringify(plan.realm.slice(0, 200))} is not an https URL`,
      );
    if (plan.service !== null) realm.searchParams.set('service', plan.service);
    realm.searchParams.set('scope', plan.scope ?? scope);
    const answer = await this.transport.exchange({
      method: 'GET',
      url: realm,
      headers: this.options.credentials
        ? { authorization: basicAuth(this.options.credentials) }
        : {},
    });
    if (answer.status === 401 || answer.status === 403) {
      await discard(answer);
      if (!this.options.credentials) throw this.noCredentials();
      throw new RegistryError(
        'E_REGISTRY_UNAUTHORIZED',
        `the token service of ${this.options.authority} refused these credentials`,
        {
          status: answer.status,
        },
      );
    }
    if (answer.status !== 200) {
      await discard(answer);
      throw new RegistryError(
        'E_REGISTRY_PROTOCOL',
        `the token service of ${this.options.authority} answered ${answer.status}`,
      );
    }
    const text = (await readBounded(answer, MAX_TOKEN_ANSWER, 'a token answer')).toString('utf8');
    const doc = safeJson(text) as { token?: unknown; access_token?: unknown } | undefined;
    const token = doc?.token ?? doc?.access_token;
    if (typeof token !== 'string' || token === '' || !/^[\x21-\x7e]+$/.test(token))
      throw new RegistryError(
        'E_REGISTRY_PROTOCOL',
        `the token service of ${this.options.authority} gave no usable token`,
      );
    return token;
  }

  private noCredentials(): RegistryError {
    return new RegistryError(
      'E_REGISTRY_UNAUTHORIZED',
      `${this.options.authority} wants credentials: pass --creds USER:PASS, or log in so that $REGISTRY_AUTH_FILE or ~/.docker/config.json has them`,
      { registry: this.options.authority },
    );
  }
}

function basicAuth(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

function safeUrl(value: string, base: URL): URL | null {
  try {
    return new URL(value, base);
  } catch {
    return null;
  }
}

function redirectError(why: string, url: URL): RegistryError {
  return new RegistryError('E_REGISTRY_REDIRECT', `${url.origin}${url.pathname}: ${why}`, {
    url: url.href,
  });
}
