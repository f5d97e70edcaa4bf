// Compatibility test: the official `openai` npm package against the real llmux in front of the
// real llmux-fake-provider, for what openai_compat.test.mjs does not cover:
//  - `client.responses.create`, plain and `stream: true`, passed through to a provider marked
//    `responses: true`, and the 501 a provider that does not serve it answers;
//  - `client.chat.completions.create` (plain, stream, tools plain and streamed) through every
//    adapter llmux has (adapters.mjs): openai-compatible, anthropic, gemini, azure-openai,
//    vertex-ai, aws-bedrock, ollama, cohere; and responses.create's 501 through each adapter
//    that does not serve it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import OpenAI from 'openai';

import { ADAPTERS, startEveryAdapterGateway } from './adapters.mjs';
import { REQUEST_TIMEOUT_MS, stop, tmpDir } from './processes.mjs';

// The adapters that do not serve the Responses API (openai-compatible only when marked, which
// `oa` is; azure-openai serves it by default).
const WITHOUT_RESPONSES = ADAPTERS.filter(([adapter]) => adapter !== 'openai-compatible' && adapter !== 'azure-openai');

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city now',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('openai npm package: Responses API and every adapter', { timeout: 90_000 }, () => {
  let fake;
  let gateway;
  let client;

  before(async () => {
    ({ fake, gateway } = await startEveryAdapterGateway('llmux-responses'));
    client = new OpenAI({
      apiKey: 'sk-unused-by-open-gateway',
      baseURL: `http://127.0.0.1:${gateway.port}/v1`,
      maxRetries: 0,
      timeout: REQUEST_TIMEOUT_MS,
    });
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  it('responses.create passes through to a provider marked responses: true', async () => {
    const prompt = 'compat check: the Responses API';
    const { data: response, response: raw } = await client.responses
      .create({ model: 'oa/fake-model', input: prompt, instructions: 'be brief' })
      .withResponse();
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.ok(response.output_text.includes(prompt), `output_text: ${response.output_text}`);
    assert.equal(response.output[0].type, 'message');
    assert.ok(response.usage.input_tokens > 0);
    assert.ok(response.usage.output_tokens > 0);
    assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);
    assert.equal(raw.headers.get('x-llmux-provider'), 'oa');
    assert.ok(raw.headers.get('x-llmux-cost-usd'), 'the answer is priced like chat');
  });

  it('responses.create with stream: true yields the Responses event sequence', async () => {
    const prompt = 'compat check: a streamed response with several words';
    const stream = await client.responses.create({
      model: 'oa/fake-model',
      stream: true,
      input: [{ role: 'user', content: [{ type: 'input_text', text: prompt }] }],
    });
    const types = [];
    let text = '';
    let completed;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types[1], 'response.in_progress');
    assert.ok(types.includes('response.output_item.added'));
    assert.ok(types.includes('response.content_part.added'));
    assert.ok(types.filter((t) => t === 'response.output_text.delta').length >= 2, types.join(','));
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(completed, 'response.completed carries the whole response');
    assert.ok(text.includes(prompt), `streamed text: ${text}`);
    assert.equal(completed.output[0].content[0].text, text);
    assert.ok(completed.usage.output_tokens > 0);
  });

  for (const [adapter, model] of WITHOUT_RESPONSES) {
    it(`responses.create through the ${adapter} adapter is a 501 naming the provider`, async () => {
      let caught;
      try {
        await client.responses.create({ model, input: 'x' });
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof OpenAI.APIError, `expected an APIError, got ${caught}`);
      assert.equal(caught.status, 501);
      // OpenAI's error shape, whole: {"error":{"message","type","param","code"}}.
      assert.deepEqual(Object.keys(caught.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(caught.code, 'unsupported_endpoint');
      assert.equal(typeof caught.type, 'string');
      const provider = model.split('/')[0];
      const named = `provider '${provider}' (type ${adapter}) does not serve /v1/responses`;
      assert.ok(caught.error.message.startsWith(named), caught.error.message);
      assert.equal(caught.param ?? null, null);
    });
  }

  for (const [adapter, model] of ADAPTERS) {
    describe(`chat.completions through the ${adapter} adapter`, () => {
      it('plain', async () => {
        const prompt = `compat check: plain chat via ${adapter}`;
        const data = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });
        assert.equal(data.object, 'chat.completion');
        const [choice] = data.choices;
        assert.equal(choice.message.role, 'assistant');
        assert.ok(choice.message.content.includes(prompt), `content: ${choice.message.content}`);
        assert.equal(choice.finish_reason, 'stop');
        assert.ok(data.usage.prompt_tokens > 0);
        assert.ok(data.usage.completion_tokens > 0);
      });

      it('stream with usage', async () => {
        const prompt = `compat check: streamed chat via ${adapter} with several words`;
        const stream = await client.chat.completions.create({
          model,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: prompt }],
        });
        let text = '';
        let finish;
        let usage;
        let contentChunks = 0;
        for await (const chunk of stream) {
          if (chunk.usage) usage = chunk.usage;
          const choice = chunk.choices[0];
          if (!choice) continue;
          if (choice.delta?.content) {
            text += choice.delta.content;
            contentChunks += 1;
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
        assert.ok(text.includes(prompt), `streamed text: ${text}`);
        assert.ok(contentChunks >= 2, `content chunks: ${contentChunks}`);
        assert.equal(finish, 'stop');
        assert.ok(usage && usage.completion_tokens > 0, `usage: ${JSON.stringify(usage)}`);
      });

      it('tools, plain', async () => {
        const data = await client.chat.completions.create({
          model,
          messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
          tools: [WEATHER_TOOL],
        });
        const [choice] = data.choices;
        assert.equal(choice.finish_reason, 'tool_calls');
        assert.equal(choice.message.tool_calls.length, 1);
        const [call] = choice.message.tool_calls;
        assert.equal(call.type, 'function');
        assert.equal(call.function.name, 'get_weather');
        assert.ok(call.id, 'the call has an id to answer it by');
        assert.equal(typeof JSON.parse(call.function.arguments).city, 'string', call.function.arguments);
      });

      it('tools, streamed', async () => {
        const stream = await client.chat.completions.create({
          model,
          stream: true,
          messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
          tools: [WEATHER_TOOL],
        });
        const calls = [];
        let finish;
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (!choice) continue;
          for (const delta of choice.delta?.tool_calls ?? []) {
            calls[delta.index] ??= { id: '', name: '', arguments: '' };
            const call = calls[delta.index];
            if (delta.id) call.id = delta.id;
            if (delta.function?.name) call.name += delta.function.name;
            if (delta.function?.arguments) call.arguments += delta.function.arguments;
          }
          if (choice.finish_reason) finish = choice.finish_reason;
        }
        assert.equal(finish, 'tool_calls');
        assert.equal(calls.length, 1);
        assert.equal(calls[0].name, 'get_weather');
        assert.ok(calls[0].id);
        assert.equal(typeof JSON.parse(calls[0].arguments).city, 'string', calls[0].arguments);
      });
    });
  }
});
