// All the dashboard's calls to llmux, in one place: the admin API (/api/*, authenticated by the
// session cookie the browser sends by itself) and the gateway's /v1 API (with a gateway key when
// the gateway asks for one). The pages only see the plain objects these functions answer, so a
// change in an answer's shape is absorbed here.

export class ApiError extends Error {
  constructor(status, message, code, fieldErrors) {
    super(message);
    this.status = status;
    this.code = code || null;
    this.fieldErrors = fieldErrors || [];  // [{field, message}] from error.errors
  }
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = null;
  let fieldErrors = [];
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || null;
      if (Array.isArray(body.error.errors)) fieldErrors = body.error.errors;
    }
  } catch {
    // not JSON: the status line is all there is
  }
  if (response.status === 401 && code !== 'invalid_api_key' && code !== 'missing_api_key') {
    // The session ended (expired, server restarted, key changed): back to the login page.
    window.dispatchEvent(new CustomEvent('llmux-session-ended'));
  }
  return new ApiError(response.status, message, code, fieldErrors);
}

async function call(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return {};
  const etag = response.headers.get('ETag');
  const data = await response.json();
  if (etag && data && typeof data === 'object') Object.defineProperty(data, 'etag', { value: etag });
  return data;
}

const enc = encodeURIComponent;

// ---- providers ----

// Prices as the form shows them, USD per 1M tokens (GET answers {input, output} in that unit).
function normalizePricing(p) {
  if (!p) return null;
  return { inputPerMtok: p.input_per_mtok ?? p.inputPerMtok ?? p.input ?? null,
    outputPerMtok: p.output_per_mtok ?? p.outputPerMtok ?? p.output ?? null };
}

function normalizeModel(m) {
  if (typeof m === 'string') return { id: m, name: '', contextWindow: null, pricing: null };
  return {
    id: m.id,
    name: m.name && m.name !== m.id ? m.name : '',
    contextWindow: m.contextWindow ?? m.context_window ?? null,
    pricing: normalizePricing(m.pricing),
  };
}

// Headers as {name: value}; the API masks stored values ("****").
function normalizeHeaders(h) {
  if (Array.isArray(h)) return Object.fromEntries(h.map((x) => [x.name, x.value]));
  return h || {};
}

// One provider as the pages show it, whatever spelling the server used.
export function normalizeProvider(p) {
  const health = typeof p.health === 'string' ? { status: p.health } : (p.health || {});
  let breaker = p.breaker ?? null;
  if (breaker === null && Array.isArray(p.deployments) && p.deployments.length) {
    const states = p.deployments.map((d) => d.breaker);
    breaker = states.includes('open') ? 'open' : states.includes('half_open') ? 'half_open' : 'closed';
  }
  return {
    id: p.id ?? p.name,
    name: p.name ?? p.id,
    type: p.type || '',
    enabled: p.enabled !== false,
    origin: p.origin || '',
    baseUrl: p.baseUrl ?? p.base_url ?? '',
    defaultModel: p.defaultModel ?? p.default_model ?? '',
    isDefault: Boolean(p.default ?? p.isDefault ?? false),
    models: (p.models || []).map(normalizeModel),
    health: { status: health.status || 'unknown', latencyMs: health.latencyMs ?? health.latency_ms ?? null },
    breaker: breaker || 'closed',
    requestsPerMinute: p.requestsPerMinute ?? p.requests_per_minute ?? null,
    p95Ms: p.p95Ms ?? p.p95_ms ?? null,
    errors: p.errors ?? null,
    apiKey: p.apiKey ?? p.api_key ?? null,
    priority: p.priority ?? null,
    authType: p.authType ?? p.auth_type ?? '',
    headers: normalizeHeaders(p.headers),
    etag: p.etag || null,
  };
}

export async function listProviders() {
  const data = await call('GET', '/api/providers');
  return (data.providers || []).map(normalizeProvider);
}

export async function getProvider(name) {
  const data = await call('GET', `/api/providers/${enc(name)}`);
  const provider = normalizeProvider(data.provider || data);
  provider.etag = data.etag || null;
  return provider;
}

function providerAnswer(data) {
  const provider = normalizeProvider(data.provider || data);
  provider.etag = data.etag || null;
  return provider;
}

export async function registerProvider(config) {
  return providerAnswer(await call('POST', '/api/providers/register', config));
}

// A merge of `changes` into the saved provider (PATCH): what is left out stays as stored, so an
// edit need not resend the key or the masked header values.
export async function updateProvider(name, changes, etag) {
  return providerAnswer(await call('PATCH', `/api/providers/${enc(name)}`, changes, etag ? { 'If-Match': etag } : {}));
}

export async function deleteProvider(name) {
  return call('DELETE', `/api/providers/${enc(name)}`);
}

export async function setDefaultProvider(name) {
  return call('POST', `/api/providers/${enc(name)}/default`);
}

export async function setProviderEnabled(name, enabled) {
  return call('POST', `/api/providers/${enc(name)}/${enabled ? 'enable' : 'disable'}`);
}

function testAnswer(data) {
  return {
    passed: Boolean(data.passed),
    checks: (data.checks || []).map((c) => ({
      name: c.name,
      status: c.status,
      latencyMs: c.latencyMs ?? c.latency_ms ?? null,
      reason: c.reason || '',
    })),
  };
}

// The self-test of an unsaved configuration (the form's), or of a saved provider by name.
export async function testProviderConfig(config) {
  return testAnswer(await call('POST', '/api/providers/test', config));
}

export async function testSavedProvider(name) {
  return testAnswer(await call('POST', `/api/providers/${enc(name)}/test`));
}

// ---- usage ----

// GET /api/usage?since&until&by: {groups:[{group, requests, input_tokens, output_tokens, cost_usd}], total}
export async function usage({ since, until, by }) {
  const query = new URLSearchParams();
  if (since) query.set('since', since);
  if (until) query.set('until', until);
  if (by) query.set('by', by);
  const data = await call('GET', `/api/usage?${query}`);
  const row = (g) => ({
    group: g.group ?? '',
    requests: g.requests ?? 0,
    failedRequests: g.failed_requests ?? 0,
    inputTokens: g.input_tokens ?? 0,
    outputTokens: g.output_tokens ?? 0,
    tokens: (g.input_tokens ?? 0) + (g.output_tokens ?? 0),
    cost: g.cost_usd ?? (g.cost_nano_usd ?? 0) / 1e9,
  });
  return {
    available: Array.isArray(data.groups),  // false: the usage ledger is off
    groups: (data.groups || []).map(row),
    total: data.total ? row(data.total) : null,
  };
}

// ---- keys ----

function normalizeKey(k) {
  return {
    id: k.id,
    name: k.name || '',
    prefix: k.prefix || '',
    models: k.models || [],
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
    budget: k.budget ?? null,
    expires: k.expires ?? null,
    revoked: Boolean(k.revoked),
    created: k.created ?? null,
  };
}

export async function listKeys() {
  const data = await call('GET', '/api/keys');
  return (data.keys || []).map(normalizeKey);
}

export async function createKey(fields) {
  const data = await call('POST', '/api/keys', fields);
  return { key: normalizeKey(data.key || {}), secret: data.secret };
}

export async function revokeKey(id) {
  return call('DELETE', `/api/keys/${enc(id)}`);
}

// ---- the gateway (/v1) ----

function gatewayHeaders(gatewayKey) {
  return gatewayKey ? { Authorization: `Bearer ${gatewayKey}` } : {};
}

export async function servedModels(gatewayKey) {
  const data = await call('GET', '/v1/models', undefined, gatewayHeaders(gatewayKey));
  return (data.data || []).map((m) => m.id);
}

// Streams a chat completion: onDelta(text) for each piece of the answer as it arrives; resolves
// with the whole answer. `signal` aborts it.
export async function streamChat({ model, messages, gatewayKey, signal, onDelta }) {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...gatewayHeaders(gatewayKey) },
    credentials: 'same-origin',
    body: JSON.stringify({ model, messages, stream: true }),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let answer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return answer;
        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          continue;
        }
        if (chunk.error) throw new ApiError(502, chunk.error.message || 'the stream failed', chunk.error.code);
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) {
          answer += delta;
          onDelta(delta);
        }
      }
    }
  }
  return answer;
}
