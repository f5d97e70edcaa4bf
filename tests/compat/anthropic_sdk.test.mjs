// Compatibility test: the official `@anthropic-ai/sdk` npm package, used as an application would
// use it, against llmux's POST /v1/messages in front of the real llmux-fake-provider, through a
// provider of every adapter (adapters.mjs): translated for every adapter but anthropic, whose
// provider gets the bytes passed through. Run through run.sh (LLMUX_BINARY, LLMUX_FAKE_BINARY).
// Every wait is on a real event.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import Anthropic from '@anthropic-ai/sdk';

import { ADAPTERS, startEveryAdapterGateway } from './adapters.mjs';
import { stop, tmpDir } from './processes.mjs';

const GATEWAY_KEY = 'sk-llmux-anthropic-compat-0001';

const TOOLS = [{
  name: 'get_weather',
  description: 'Weather now',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

describe('@anthropic-ai/sdk against llmux /v1/messages', { timeout: 90_000 }, () => {
  let fake;
  let gateway;
  let client;

  before(async () => {
    ({ fake, gateway } = await startEveryAdapterGateway('llmux-anthropic-sdk', { masterKey: GATEWAY_KEY }));
    client = new Anthropic({ apiKey: GATEWAY_KEY, baseURL: `http://127.0.0.1:${gateway.port}`, maxRetries: 0 });
  });

  after(async () => {
    await stop(gateway);
    await stop(fake);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  for (const [, model] of ADAPTERS) {
    it(`plain message through ${model}`, async () => {
      const message = await client.messages.create({
        model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'compat: plain' }],
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.equal(message.content[0].type, 'text');
      assert.ok(message.content[0].text.length > 0);
      assert.equal(message.stop_reason, 'end_turn');
      assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0, JSON.stringify(message.usage));
    });

    it(`stream through ${model}`, async () => {
      const stream = client.messages.stream({
        model, max_tokens: 100, messages: [{ role: 'user', content: 'compat: stream' }],
      });
      const events = [];
      let text = '';
      stream.on('streamEvent', (e) => events.push(e.type));
      stream.on('text', (t) => { text += t; });
      const final = await stream.finalMessage();
      assert.ok(text.length > 0);
      assert.equal(final.content[0].text, text);
      assert.equal(events[0], 'message_start');
      assert.equal(events.at(-1), 'message_stop');
      assert.ok(events.includes('content_block_delta'));
      assert.ok(final.usage.output_tokens > 0);
    });

    it(`tools through ${model}`, async () => {
      const stream = client.messages.stream({
        model, max_tokens: 100, tools: TOOLS, messages: [{ role: 'user', content: 'weather in Oslo?' }],
      });
      const final = await stream.finalMessage();
      assert.equal(final.stop_reason, 'tool_use');
      const call = final.content.find((b) => b.type === 'tool_use');
      assert.ok(call, JSON.stringify(final));
      assert.equal(call.name, 'get_weather');
      assert.equal(typeof call.input.city, 'string');
      // The tool's result goes back as Anthropic's tool_result; the model answers in text.
      const answer = await client.messages.create({
        model, max_tokens: 100, tools: TOOLS, messages: [
          { role: 'user', content: 'weather in Oslo?' },
          { role: 'assistant', content: final.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18 C' }] },
        ],
      });
      assert.equal(answer.content[0].type, 'text');
      assert.equal(answer.stop_reason, 'end_turn');
    });
  }

  it('errors reach the SDK as its typed errors', async () => {
    const bad = new Anthropic({ apiKey: 'wrong-key', baseURL: `http://127.0.0.1:${gateway.port}`, maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: 'oa/fake-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
    await assert.rejects(client.messages.create({ model: 'nobody/none', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.NotFoundError && e.error?.type === 'error');
  });

  it('count_tokens both ways', async () => {
    const asked = { messages: [{ role: 'user', content: 'count me please' }] };
    const counted = await client.messages.countTokens({ model: 'claude/fake-model', ...asked });
    assert.ok(counted.input_tokens > 0);
    const { data, response } = await client.messages.countTokens({ model: 'oa/fake-model', ...asked }).withResponse();
    assert.ok(data.input_tokens > 0);
    assert.equal(response.headers.get('x-llmux-estimated'), 'true');
  });
});
