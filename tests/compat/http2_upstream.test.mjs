// `http_version:` against a real HTTP/2 server (node:http2 over TLS, offering h2 and HTTP/1.1 by
// ALPN, as hosted providers do), with the `openai` package as the client of llmux:
//  - a provider with `http_version: "2"` is reached over HTTP/2, plain and streamed, and
//    concurrent requests share one connection as multiplexed streams;
//  - a provider without it (the measured default) is reached over HTTP/1.1 on the pooled engine;
//  - `tls.server_name` on the HTTP/2 path: the name is the one sent (SNI) and verified, while the
//    connection goes to the URL's address and the authority stays the URL's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';

import OpenAI from 'openai';

import { REQUEST_TIMEOUT_MS, startGatewayWithConfig, stop } from './processes.mjs';

const tlsDir = process.env.LLMUX_COMPAT_TLS_DIR;

// An OpenAI-shaped upstream that records, per request, the protocol, authority and SNI it saw.
function startUpstream() {
  const seen = [];
  let sessions = 0;
  const server = http2.createSecureServer({
    key: fs.readFileSync(path.join(tlsDir, 'server.key')),
    cert: fs.readFileSync(path.join(tlsDir, 'server.crt')),
    allowHTTP1: true,
  });
  server.on('session', () => { sessions += 1; });
  server.on('request', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const authority = req.headers[':authority'] ?? req.headers.host;
      seen.push({ method: req.method, version: req.httpVersion, authority, servername: req.socket.servername });
      if (req.method === 'GET') {  // health probes and model listing
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'h2-model', object: 'model' }] }));
        return;
      }
      const request = JSON.parse(body);
      const text = `over HTTP/${req.httpVersion}`;
      if (!request.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id: 'chatcmpl-h2', object: 'chat.completion', created: 1, model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
        }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta, finish) => `data: ${JSON.stringify({
        id: 'chatcmpl-h2', object: 'chat.completion.chunk', created: 1, model: request.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`;
      for (const word of text.split(' ')) res.write(chunk({ content: `${word} ` }, null));
      res.write(chunk({}, 'stop'));
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, seen, sessions: () => sessions }));
  });
}

function gatewayConfig(port) {
  const ca = path.join(tlsDir, 'ca.crt');
  const provider = (name, extra) => [
    `  ${name}:`,
    `    base_url: https://127.0.0.1:${port}/v1`,
    '    api_key: sk-h2',
    '    models: [h2-model]',
    ...extra,
  ];
  return ['providers:',
    ...provider('two', [`    tls: { ca_file: ${ca} }`, '    http_version: "2"']),
    ...provider('one', [`    tls: { ca_file: ${ca} }`]),
    ...provider('named', [`    tls: { ca_file: ${ca}, server_name: localhost }`, '    http_version: "2"']),
    ''].join('\n');
}

describe('http_version against an HTTP/2 upstream', () => {
  let upstream, gateway, client;

  before(async () => {
    assert.ok(tlsDir, 'run.sh sets LLMUX_COMPAT_TLS_DIR');
    upstream = await startUpstream();
    gateway = await startGatewayWithConfig('http2-upstream', gatewayConfig(upstream.port));
    client = new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: 'unused', timeout: REQUEST_TIMEOUT_MS, maxRetries: 0 });
  });

  after(async () => {
    await stop(gateway);
    upstream?.server.close();
  });

  const chats = () => upstream.seen.filter((s) => s.method === 'POST').slice(-1)[0];

  it('"2": plain and streamed answers come over HTTP/2', async () => {
    const plain = await client.chat.completions.create({ model: 'two/h2-model', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(plain.choices[0].message.content, 'over HTTP/2.0');
    assert.equal(chats().version, '2.0');

    const stream = await client.chat.completions.create({
      model: 'two/h2-model', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'over HTTP/2.0 ');
    assert.equal(chats().version, '2.0');
  });

  it('"2": concurrent requests are streams on one connection', async () => {
    const before = upstream.sessions();
    const answers = await Promise.all(Array.from({ length: 16 }, () => client.chat.completions.create({
      model: 'two/h2-model', messages: [{ role: 'user', content: 'hi' }] })));
    for (const a of answers) assert.equal(a.choices[0].message.content, 'over HTTP/2.0');
    // Each llmux worker thread has its own connections (two threads on a 2-core machine), so at
    // most one new connection per thread; a pool of HTTP/1.1 connections would open up to 16.
    assert.ok(upstream.sessions() - before <= 2, `new connections: ${upstream.sessions() - before}`);
  });

  it('unset: the pooled HTTP/1.1 engine', async () => {
    const plain = await client.chat.completions.create({ model: 'one/h2-model', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(plain.choices[0].message.content, 'over HTTP/1.1');
  });

  it('tls.server_name over HTTP/2: SNI and verification use the name, the authority stays the URL', async () => {
    const plain = await client.chat.completions.create({ model: 'named/h2-model', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(plain.choices[0].message.content, 'over HTTP/2.0');
    const last = chats();
    assert.equal(last.servername, 'localhost');
    assert.equal(last.authority, `127.0.0.1:${upstream.port}`);
  });
});
