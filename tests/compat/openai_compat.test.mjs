// Compatibility test: the official `openai` npm package, used as an application would use it,
// against the real llmux gateway in front of the real llmux-fake-provider, all on loopback.
//
// Run through run.sh, which installs the pinned package and sets LLMUX_BINARY and
// LLMUX_FAKE_BINARY. Every wait is on a real event (a stdout line, a process exit) with a deadline;
// nothing sleeps to synchronise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import OpenAI from 'openai';

import {
  LLMUX_BINARY, REQUEST_TIMEOUT_MS, startFake, startListening, stateDir, stop, tmpDir,
} from './processes.mjs';

const MASTER_KEY = 'sk-llmux-compat-master-0001';

function startGateway(fakePort, { masterKey, tls } = {}) {
  const lines = [];
  if (masterKey) lines.push(`master_key: ${masterKey}`);
  if (tls) lines.push('server:', '  tls:', `    cert: ${tls.cert}`, `    key: ${tls.key}`);
  lines.push(
    'providers:',
    '  fake:',
    `    base_url: http://127.0.0.1:${fakePort}/v1`,
    '    api_key: sk-fake',
    '    models: [fake-model, fake-embedding]',
    '    default_model: fake-model',
    '',
  );
  const configPath = path.join(tmpDir, `llmux-${masterKey ? 'keyed' : 'open'}${tls ? '-tls' : ''}.yaml`);
  fs.writeFileSync(configPath, lines.join('\n'));
  return startListening('llmux', LLMUX_BINARY, ['serve', '--config', configPath, '--port', '0'],
    { XDG_STATE_HOME: stateDir });
}

// A client as an application would make one; no retries, so a flaky answer shows up as a failure.
function clientFor(gateway, apiKey = 'sk-unused-by-open-gateway', extra = {}) {
  return new OpenAI({
    apiKey,
    baseURL: `http://127.0.0.1:${gateway.port}/v1`,
    maxRetries: 0,
    timeout: REQUEST_TIMEOUT_MS,
    ...extra,
  });
}

// Also records each request the package sends, to check what went over the wire.
function recordingClient(gateway) {
  const sent = [];
  const client = clientFor(gateway, undefined, {
    fetch: (url, init) => {
      sent.push({ url: String(url), method: init?.method, body: init?.body });
      return fetch(url, init);
    },
  });
  return { client, sent };
}

async function rejectsWith(promise, ErrorClass, status) {
  let caught;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected ${ErrorClass.name}, but the call succeeded`);
  assert.ok(caught instanceof ErrorClass,
    `expected ${ErrorClass.name}, got ${caught?.constructor?.name}: ${caught?.message}`);
  assert.ok(caught instanceof OpenAI.APIError);
  assert.equal(caught.status, status);
  return caught;
}

const CHAT_MODEL = 'fake/fake-model';
const EMBEDDING_MODEL = 'fake/fake-embedding';

describe('openai npm package against llmux', { timeout: 60_000 }, () => {
  let fake;
  let gateway;
  let client;

  before(async () => {
    fake = await startFake();
    gateway = await startGateway(fake.port);
    client = clientFor(gateway);
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
  });

  it('chat completion', async () => {
    const prompt = 'compat check: plain chat';
    const { data, request_id } = await client.chat.completions
      .create({ model: CHAT_MODEL, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(typeof data.id, 'string');
    assert.match(data.model, /fake-model$/);
    assert.equal(data.choices.length, 1);
    const [choice] = data.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(typeof choice.message.content, 'string');
    assert.ok(choice.message.content.includes(prompt), `content: ${choice.message.content}`);
    assert.equal(choice.finish_reason, 'stop');
    assert.ok(data.usage.prompt_tokens > 0);
    assert.ok(data.usage.completion_tokens > 0);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.ok(request_id, 'the package reads the gateway x-request-id header');
  });

  it('streaming chat completion with stream_options.include_usage', async () => {
    const prompt = 'compat check: streamed chat with several words in it';
    const request = { model: CHAT_MODEL, messages: [{ role: 'user', content: prompt }] };
    const plain = await client.chat.completions.create(request);

    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    let text = '';
    for await (const chunk of stream) {
      chunks.push(chunk);
      for (const c of chunk.choices) text += c.delta?.content ?? '';
    }

    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    for (const chunk of chunks) assert.equal(chunk.object, 'chat.completion.chunk');
    assert.ok(new Set(chunks.map((c) => c.id)).size === 1, 'every chunk carries the same id');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta?.content);
    assert.ok(contentChunks.length > 1, 'the text arrives in more than one chunk');
    assert.equal(text, plain.choices[0].message.content, 'streamed text equals the non-streamed text');

    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishing.length, 1);
    assert.equal(finishing[0].choices[0].finish_reason, 'stop');

    // include_usage: one final chunk with no choices and the usage; every other chunk has null usage.
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage, 'final chunk has usage');
    assert.ok(last.usage.prompt_tokens > 0);
    assert.ok(last.usage.completion_tokens > 0);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
    assert.deepEqual(
      { prompt: last.usage.prompt_tokens, completion: last.usage.completion_tokens },
      { prompt: plain.usage.prompt_tokens, completion: plain.usage.completion_tokens },
    );
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage ?? null, null);
  });

  it('embeddings (the package asks for base64 and decodes it)', async () => {
    const { client: recording, sent } = recordingClient(gateway);
    const input = ['first text to embed', 'second text to embed'];
    const dimensions = 16;
    const res = await recording.embeddings.create({ model: EMBEDDING_MODEL, input, dimensions });

    assert.equal(sent.length, 1);
    assert.match(sent[0].url, /\/v1\/embeddings$/);
    const wire = JSON.parse(sent[0].body);
    assert.equal(wire.encoding_format, 'base64', 'the package requests base64 by default');
    assert.equal(wire.dimensions, dimensions);

    assert.equal(res.object, 'list');
    assert.match(res.model, /fake-embedding$/);
    assert.equal(res.data.length, input.length);
    res.data.forEach((item, i) => {
      assert.equal(item.object, 'embedding');
      assert.equal(item.index, i);
      assert.ok(Array.isArray(item.embedding), `embedding ${i} is ${typeof item.embedding}`);
      assert.equal(item.embedding.length, dimensions);
      for (const v of item.embedding) assert.ok(typeof v === 'number' && Number.isFinite(v), `value ${v}`);
      assert.ok(item.embedding.some((v) => v !== 0), 'not all zeros');
    });
    assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
    assert.ok(res.usage.prompt_tokens > 0);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens);

    // The same request as plain floats gives the same vectors (to float32 precision).
    const floats = await client.embeddings.create({
      model: EMBEDDING_MODEL, input, dimensions, encoding_format: 'float',
    });
    assert.equal(floats.data.length, input.length);
    floats.data.forEach((item, i) => {
      assert.equal(item.embedding.length, dimensions);
      assert.deepEqual(item.embedding.map(Math.fround), res.data[i].embedding);
    });

    // A single string input, with the provider's default dimensions.
    const one = await client.embeddings.create({ model: EMBEDDING_MODEL, input: 'just one' });
    assert.equal(one.data.length, 1);
    assert.ok(Array.isArray(one.data[0].embedding));
    assert.ok(one.data[0].embedding.length > 0);
  });

  it('models list', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    const ids = models.map((m) => m.id);
    assert.ok(ids.includes('fake/fake-model'), `ids: ${ids}`);
    assert.ok(ids.includes('fake/fake-embedding'), `ids: ${ids}`);
    for (const m of models) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
      if (m.id.startsWith('fake/')) assert.equal(m.owned_by, 'fake');
    }
  });

  // The package percent-encodes path parameters, so this is GET /v1/models/fake%2Ffake-model.
  it('models retrieve of a provider-prefixed id',
    async () => {
      const model = await client.models.retrieve('fake/fake-model');
      assert.equal(model.id, 'fake/fake-model');
      assert.equal(model.owned_by, 'fake');
    });

  it('unknown model -> NotFoundError (404)', async () => {
    const err = await rejectsWith(
      client.chat.completions.create({
        model: 'no-such-model-anywhere',
        messages: [{ role: 'user', content: 'hello' }],
      }),
      OpenAI.NotFoundError, 404);
    assert.ok(err.error, 'the package parsed the OpenAI error body');
    assert.match(err.message, /no-such-model-anywhere/);
    assert.equal(err.code, 'model_not_found');
  });
});

describe('openai npm package against llmux with a gateway key', { timeout: 60_000 }, () => {
  let fake;
  let gateway;

  before(async () => {
    fake = await startFake();
    gateway = await startGateway(fake.port, { masterKey: MASTER_KEY });
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
  });

  it('wrong apiKey -> AuthenticationError (401)', async () => {
    const wrong = clientFor(gateway, 'sk-wrong-key');
    const err = await rejectsWith(
      wrong.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'hello' }] }),
      OpenAI.AuthenticationError, 401);
    assert.equal(err.code, 'invalid_api_key');
    await rejectsWith(wrong.models.list(), OpenAI.AuthenticationError, 401);
  });

  it('right apiKey works', async () => {
    const right = clientFor(gateway, MASTER_KEY);
    const res = await right.chat.completions.create({
      model: CHAT_MODEL, messages: [{ role: 'user', content: 'with the master key' }],
    });
    assert.ok(res.choices[0].message.content.includes('with the master key'));
    const ids = [];
    for await (const m of right.models.list()) ids.push(m.id);
    assert.ok(ids.includes('fake/fake-model'), `ids: ${ids}`);
  });
});

// A stream cut after its first bytes and resumed (resume: prefill): the package must see one
// complete answer, as if nothing had happened.
describe('openai npm package reading a cut-and-resumed stream', { timeout: 60_000 }, () => {
  let fake;
  let gateway;

  before(async () => {
    fake = await startFake();
    const provider = (id, knobs) => [
      `  ${id}:`,
      `    base_url: http://127.0.0.1:${fake.port}/v1`,
      '    api_key: sk-fake',
      '    max_retries: 0',
      '    resume: prefill',
      '    models: [fake-model]',
      `    default_params: {fake: ${knobs}}`,
    ];
    const lines = [
      'providers:',
      ...provider('flaky', '{chunks: 8, truncate_after_chunks: 3}'),
      ...provider('steady', '{chunks: 8}'),
      'models:',
      '  resumable:',
      '    deployments:',
      '      - {provider: flaky, model: fake-model, priority: 1}',
      '      - {provider: steady, model: fake-model, priority: 2}',
      '',
    ];
    const configPath = path.join(tmpDir, 'llmux-resume.yaml');
    fs.writeFileSync(configPath, lines.join('\n'));
    gateway = await startListening('llmux', LLMUX_BINARY, ['serve', '--config', configPath, '--port', '0'],
      { XDG_STATE_HOME: stateDir });
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
  });

  async function streamed(client, model, messages) {
    const started = performance.now();
    const stream = await client.chat.completions.create({
      model, messages, stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    let text = '';
    for await (const chunk of stream) {
      chunks.push(chunk);
      for (const c of chunk.choices) text += c.delta?.content ?? '';
    }
    return { chunks, text, ms: performance.now() - started };
  }

  it('arrives as one complete answer', async (t) => {
    const client = clientFor(gateway);
    const messages = [{ role: 'user', content: 'compat check: a stream that breaks and is resumed mid-answer' }];
    const plain = await client.chat.completions.create({ model: 'steady/fake-model', messages });
    const expected = plain.choices[0].message.content;

    const resumed = await streamed(client, 'resumable', messages);
    assert.equal(resumed.text, expected, 'no text lost or repeated');
    assert.equal(new Set(resumed.chunks.map((c) => c.id)).size, 1, 'one stream id');
    assert.equal(new Set(resumed.chunks.map((c) => c.model)).size, 1, 'one model');
    const finishing = resumed.chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishing.length, 1);
    assert.equal(finishing[0].choices[0].finish_reason, 'stop');
    assert.ok(resumed.chunks.at(-1).usage, 'the usage chunk asked for');

    // The extra latency of a cut-and-resumed stream against a healthy one, same answer.
    const runs = 5;
    const healthy = [];
    const cut = [];
    for (let i = 0; i < runs; ++i) {
      healthy.push((await streamed(client, 'steady/fake-model', messages)).ms);
      cut.push((await streamed(client, 'resumable', messages)).ms);
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    t.diagnostic(`resume latency: healthy stream median ${median(healthy).toFixed(2)} ms, cut-and-resumed ` +
      `(cut twice) median ${median(cut).toFixed(2)} ms, extra ${(median(cut) - median(healthy)).toFixed(2)} ms`);
  });
});

// HTTPS for clients: run.sh makes a CA and a server certificate for 127.0.0.1 in
// LLMUX_COMPAT_TLS_DIR and starts node with NODE_EXTRA_CA_CERTS pointing at the CA, the way an
// application trusts a private CA; the package itself is used unchanged.
describe('openai npm package over HTTPS (server.tls)', { timeout: 60_000 }, () => {
  const tlsDir = process.env.LLMUX_COMPAT_TLS_DIR;
  let fake;
  let gateway;
  let client;

  before(async () => {
    assert.ok(tlsDir && process.env.NODE_EXTRA_CA_CERTS,
      'run through run.sh: it sets LLMUX_COMPAT_TLS_DIR and NODE_EXTRA_CA_CERTS');
    fake = await startFake();
    gateway = await startGateway(fake.port, {
      tls: { cert: path.join(tlsDir, 'server.crt'), key: path.join(tlsDir, 'server.key') },
    });
    client = clientFor(gateway, undefined, { baseURL: `https://127.0.0.1:${gateway.port}/v1` });
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
  });

  it('chat completion over TLS', async () => {
    const prompt = 'compat check: chat over https';
    const data = await client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: prompt }] });
    assert.equal(data.object, 'chat.completion');
    assert.ok(data.choices[0].message.content.includes(prompt), `content: ${data.choices[0].message.content}`);
  });

  it('streaming chat completion over TLS', async () => {
    const stream = await client.chat.completions.create({
      model: CHAT_MODEL, stream: true, messages: [{ role: 'user', content: 'compat check: stream over https' }],
    });
    let text = '';
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(text.includes('stream over https'), `text: ${text}`);
    assert.equal(finish, 'stop');
  });

  it('the plain-HTTP URL is refused with an error, not a hang', async () => {
    const plain = clientFor(gateway);
    await rejectsWith(plain.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'x' }] }),
      OpenAI.BadRequestError, 400);
  });
});

after(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});
