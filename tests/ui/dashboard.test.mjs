// Browser test of the dashboard (/ui): Debian's headless chromium, driven by puppeteer-core,
// against a real llmux in front of the real llmux-fake-provider, all on loopback, port 0.
//
// usage: node tests/ui/dashboard.test.mjs LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY
// (ctest runs it as `ui_browser`; scripts/setup.sh installs chromium and this folder's packages.)
//
// Every wait is on a real event (a stdout line, a selector, a response) with a deadline; nothing
// sleeps to synchronise. Screenshots go to docs/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch {
  console.error('dashboard.test.mjs: puppeteer-core is missing; run scripts/setup.sh (npm ci in tests/ui)');
  process.exit(1);
}

const abs = (p) => (p && !path.isAbsolute(p) ? path.resolve(p) : p);
const LLMUX = abs(process.argv[2] || process.env.LLMUX_BINARY);
const FAKE = abs(process.argv[3] || process.env.LLMUX_FAKE_BINARY);
const CHROMIUM = process.env.LLMUX_CHROMIUM || '/usr/bin/chromium';
if (!LLMUX || !FAKE) {
  console.error('usage: node dashboard.test.mjs LLMUX_BINARY LLMUX_FAKE_PROVIDER_BINARY');
  process.exit(2);
}
for (const file of [LLMUX, FAKE, CHROMIUM]) {
  if (!fs.existsSync(file)) {
    console.error(`dashboard.test.mjs: not found: ${file}${file === CHROMIUM ? ' (scripts/setup.sh installs chromium)' : ''}`);
    process.exit(2);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = path.resolve(here, '../../docs/screenshots');
const START_DEADLINE_MS = 10_000;
const STEP_TIMEOUT_MS = 15_000;
const ADMIN_KEY = 'llmux-admin-ui-test-key-7f3a';
const FAKE_CONTENT = 'Streaming answers from the fake provider arrive piece by piece.';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'llmux-ui-test-'));
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// Starts a process whose first stdout line is "listening on http://HOST:PORT"; resolves with the port.
function startListening(name, binary, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const proc = { name, child, port: 0, output: '' };
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        child.kill('SIGKILL');
        reject(new Error(`${name}: ${error}\n${proc.output}`));
      } else resolve(proc);
    };
    const timer = setTimeout(() => settle(`no "listening on" line within ${START_DEADLINE_MS} ms`), START_DEADLINE_MS);
    const keep = (d) => { if (proc.output.length < 65536) proc.output += d; };
    child.stderr.setEncoding('utf8').on('data', keep);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      keep(d);
      const m = /listening on https?:\/\/[^\s:]+:(\d+)/.exec(proc.output);
      if (m && !settled) {
        proc.port = Number(m[1]);
        settle();
      }
    });
    child.on('error', (e) => settle(`cannot start: ${e.message}`));
    child.on('exit', (code, signal) => {
      children.delete(child);
      settle(`exited (code ${code}, signal ${signal}) before listening`);
    });
  });
}

function stop(proc) {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
    proc.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.child.kill('SIGTERM');
  });
}

let fake;
let gateway;
let base;
let browser;
let page;

async function screenshot(name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// Opens a dashboard page by its hash and waits for the section to show.
async function openPage(hash) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  await page.waitForSelector(`#page-${hash.slice(1)}:not([hidden])`, { timeout: STEP_TIMEOUT_MS });
}

// One chat completion outside the browser; answers the provider that served it.
async function servedBy(model) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'who answers?' }] }),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.headers.get('x-llmux-provider');
}

async function rowOf(name) {
  return page.waitForSelector(`#providers-table tr[data-provider="${name}"]`, { timeout: STEP_TIMEOUT_MS });
}

describe('dashboard in headless chromium', () => {
  before(async () => {
    fake = await startListening('llmux-fake-provider', FAKE,
      ['--port', '0', '--chunks', '6', '--chunk-interval-ms', '150', '--content', FAKE_CONTENT, '--models', 'fake-model']);
    const config = path.join(tmp, 'llmux.yaml');
    fs.writeFileSync(config, [
      'providers:',
      '  fallback:',
      `    base_url: http://127.0.0.1:${fake.port}/v1`,
      '    api_key: sk-fake-fallback',
      '    models: [fake-model]',
      '    priority: 50',
      '',
    ].join('\n'));
    const xdg = (dir) => { const p = path.join(tmp, dir); fs.mkdirSync(p, { recursive: true }); return p; };
    gateway = await startListening('llmux', LLMUX, ['serve', '--config', config, '--port', '0'], {
      XDG_CONFIG_HOME: xdg('config'), XDG_STATE_HOME: xdg('state'), XDG_DATA_HOME: xdg('data'),
      XDG_CACHE_HOME: xdg('cache'), LLMUX_ADMIN_KEY: ADMIN_KEY,
    });
    base = `http://127.0.0.1:${gateway.port}`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // CI runs as root, where chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  });

  after(async () => {
    if (browser) await browser.close();
    await stop(gateway);
    await stop(fake);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers /ui without a session with 401 and the login page, under a CSP without inline script', async () => {
    for (const target of ['/ui', '/ui/', '/ui/index.html']) {
      const response = await fetch(`${base}${target}`, { redirect: 'manual' });
      assert.equal(response.status, 401, target);
      const body = await response.text();
      assert.match(body, /<form method="post" action="\/ui\/login"/, target);
      const csp = response.headers.get('content-security-policy');
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
    }
  });

  it('serves the embedded files with their type, an ETag and 304 when unchanged', async () => {
    for (const [file, type] of [['app.js', 'text/javascript'], ['api.js', 'text/javascript'], ['style.css', 'text/css']]) {
      const first = await fetch(`${base}/ui/${file}`);
      assert.equal(first.status, 200, file);
      assert.ok(first.headers.get('content-type').startsWith(type), first.headers.get('content-type'));
      const etag = first.headers.get('etag');
      assert.match(etag, /^"[0-9a-f]{20}"$/);
      assert.ok((await first.text()).length > 100);
      const again = await fetch(`${base}/ui/${file}`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304, file);
    }
    assert.equal((await fetch(`${base}/ui/nothing-here.js`)).status, 404);
  });

  it('refuses a wrong admin key and a login posted from another origin', async () => {
    const wrong = await fetch(`${base}/ui/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'key=not-the-key',
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const forged = await fetch(`${base}/ui/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' },
      body: `key=${ADMIN_KEY}`,
    });
    assert.equal(forged.status, 403);
    assert.equal(forged.headers.get('set-cookie'), null);
    const forgedSession = await fetch(`${base}/ui/`, { headers: { Cookie: `llmux_session=${'a'.repeat(64)}` } });
    assert.equal(forgedSession.status, 401);
  });

  it('logs in through the form: a wrong key shows a message, the admin key opens the dashboard', async () => {
    await page.goto(`${base}/ui/`);
    await page.waitForSelector('#login-form');
    await screenshot('login');
    await page.type('#key', 'wrong-key');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    const message = await page.$eval('#login-message', (e) => e.textContent);
    assert.match(message, /not the admin key/);
    await page.type('#key', ADMIN_KEY);
    await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.waitForSelector('#providers-table[data-loaded]');
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === 'llmux_session');
    assert.ok(session, 'the session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.match(session.value, /^[0-9a-f]{64}$/);
    // HttpOnly: the page's script cannot read it.
    assert.equal(await page.evaluate(() => document.cookie.includes('llmux_session')), false);
    await rowOf('fallback');
  });

  it('opens /api with the session cookie and without it answers 401', async () => {
    const inPage = await page.evaluate(async () => (await fetch('/api/providers')).status);
    assert.equal(inPage, 200);
    const outside = await fetch(`${base}/api/providers`);
    assert.equal(outside.status, 401);
  });

  it('adds a provider through the form; Test connection shows five passing checks; Save registers it', async () => {
    await openPage('#provider-form');
    await page.type('#pf-name', 'mock');
    await page.select('#pf-type', 'openai-compatible');
    // A bad URL first: the API's field error is shown next to the field, and nothing is saved.
    await page.type('#pf-base-url', 'ftp://user:pw@127.0.0.1/v1');
    await page.click('#pf-save');
    await page.waitForSelector('#pf-base-url-error:not(:empty)');
    assert.equal(await page.$eval('#pf-base-url', (e) => e.getAttribute('aria-invalid')), 'true');
    await page.$eval('#pf-base-url', (e) => { e.value = ''; });
    await page.type('#pf-base-url', `http://127.0.0.1:${fake.port}/v1`);
    await page.type('#pf-api-key', 'sk-mock-secret-9876');
    await page.type('#pf-priority', '1');
    await page.type('#pf-models .model-row .m-id', 'fake-model');
    await page.type('#pf-models .model-row .m-name', 'Fake model');
    await page.type('#pf-models .model-row .m-context', '8192');
    await page.type('#pf-models .model-row .m-input', '0.5');
    await page.type('#pf-models .model-row .m-output', '1.5');
    await page.click('#pf-add-header');
    await page.type('#pf-headers .header-row .h-name', 'X-Team');
    await page.type('#pf-headers .header-row .h-value', 'dashboard');
    await page.click('#pf-test');
    await page.waitForSelector('#pf-test-result:not([hidden])', { timeout: 30_000 });
    const checks = await page.$$eval('#pf-checks li', (items) => items.map((i) => [i.dataset.check, i.dataset.status]));
    assert.equal(checks.length, 5, JSON.stringify(checks));
    for (const [name, status] of checks) assert.equal(status, 'pass', name);
    await screenshot('provider-form');
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/providers/register') && r.request().method() === 'POST'),
      page.click('#pf-save'),
    ]);
    await page.waitForSelector('#page-providers:not([hidden])');
    await rowOf('mock');
    await screenshot('providers');
    // The key is never echoed: not in the table, not in the API's answer.
    const html = await page.content();
    assert.ok(!html.includes('sk-mock-secret-9876'));
    const listed = await page.evaluate(async () => (await fetch('/api/providers')).text());
    assert.ok(!listed.includes('sk-mock-secret-9876'));
  });

  it('serves the new provider in /v1/models and routes to it first', async () => {
    const models = await (await fetch(`${base}/v1/models`)).json();
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.includes('mock/fake-model'), JSON.stringify(ids));
    assert.equal(await servedBy('fake-model'), 'mock');
  });

  it('edits the saved provider: the stored key and masked headers are kept, the change is saved', async () => {
    await openPage('#providers');
    const row = await rowOf('mock');
    await (await row.$('button[data-action="edit"]')).click();
    await page.waitForFunction(() => document.querySelector('#pf-name').value === 'mock');
    assert.equal(await page.$eval('#pf-api-key', (e) => e.value), '', 'the key is never filled in');
    await page.$eval('#pf-models .model-row .m-context', (e) => { e.value = ''; });
    await page.type('#pf-models .model-row .m-context', '16384');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/providers/mock') && r.request().method() === 'PATCH'),
      page.click('#pf-save'),
    ]);
    assert.equal(answer.status(), 200, await answer.text());
    await page.waitForSelector('#page-providers:not([hidden])');
    const saved = await page.evaluate(async () => (await fetch('/api/providers/mock')).json());
    const provider = saved.provider || saved;
    assert.equal(provider.models[0].contextWindow, 16384);
    assert.equal(await servedBy('fake-model'), 'mock', 'the edited provider still serves first');
  });

  it('streams a playground answer in, piece by piece', async () => {
    await openPage('#playground');
    // The served ids are PROVIDER/MODEL; the new provider's is the one to talk to.
    await page.waitForFunction(() => [...document.querySelectorAll('#pg-model option')].some((o) => o.value === 'mock/fake-model'));
    await page.select('#pg-model', 'mock/fake-model');
    await page.type('#pg-message', 'Say something, slowly.');
    await page.click('#pg-send');
    // Part of the answer is on the page while the stream is still open.
    await page.waitForFunction(() => {
      const answer = document.querySelector('#pg-answer');
      return answer.dataset.state === 'streaming' && Number(answer.dataset.pieces || 0) >= 1;
    });
    const partial = await page.$eval('#pg-answer', (e) => e.textContent);
    await page.waitForFunction(() => document.querySelector('#pg-answer').dataset.state !== 'streaming', { timeout: 30_000 });
    const state = await page.$eval('#pg-answer', (e) => e.dataset.state);
    const whole = await page.$eval('#pg-answer', (e) => e.textContent);
    assert.equal(state, 'done', await page.$eval('#pg-state', (e) => e.textContent));
    assert.equal(whole, FAKE_CONTENT);
    assert.ok(partial.length > 0 && partial.length < whole.length, `partial ${JSON.stringify(partial)}`);
    assert.ok(Number(await page.$eval('#pg-answer', (e) => e.dataset.pieces)) > 1);
    await screenshot('playground');
  });

  it('shows the requests in the usage chart and table', async () => {
    await openPage('#usage');
    await page.waitForSelector('#usage-chart rect.bar[data-series="mock"]');
    const requests = await page.$$eval('#usage-chart rect.bar[data-series="mock"]',
      (bars) => bars.reduce((sum, b) => sum + Number(b.dataset.value), 0));
    assert.ok(requests >= 2, `mock served ${requests} requests in the chart`);
    const cells = await page.$$eval('#usage-table tbody tr', (rows) => rows.map((r) => r.firstElementChild.textContent));
    assert.ok(cells.includes('mock'), JSON.stringify(cells));
    await page.select('#usage-metric', 'cost');
    await page.waitForFunction(() => {
      const chart = document.querySelector('#usage-chart');
      return chart.dataset.metric === 'cost' && Number(chart.dataset.total) > 0;
    });
    await screenshot('usage');
    // The chart follows new traffic: one more request, and the bar grows on the next show.
    await servedBy('fake-model');
    await page.select('#usage-metric', 'requests');
    await page.waitForFunction((before) => {
      if (document.querySelector('#usage-chart').dataset.metric !== 'requests') return false;
      const bars = [...document.querySelectorAll('#usage-chart rect.bar[data-series="mock"]')];
      return bars.reduce((sum, b) => sum + Number(b.dataset.value), 0) > before;
    }, {}, requests);
  });

  it('disables the provider and requests move to the fallback', async () => {
    await openPage('#providers');
    const row = await rowOf('mock');
    const disable = await row.$('button[data-action="disable"]');
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/providers/mock/disable')),
      disable.click(),
    ]);
    await page.waitForSelector('#providers-table tr[data-provider="mock"] button[data-action="enable"]');
    assert.equal(await servedBy('fake-model'), 'fallback');
  });

  it('creates a gateway key (shown once) and revokes it', async () => {
    await openPage('#keys');
    await page.type('#key-name', 'ui-test-key');
    await page.click('#key-create');
    await page.waitForSelector('#key-secret:not([hidden])');
    const secret = await page.$eval('#key-secret-value', (e) => e.value);
    assert.match(secret, /^llmux-/);
    const row = await page.waitForSelector('#keys-table tbody tr');
    await screenshot('keys');
    const revoke = await row.$('button.danger');
    await revoke.click();
    await page.waitForSelector('#confirm[open]');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/keys/')),
      page.click('#confirm-ok'),
    ]);
    await page.waitForFunction(() => [...document.querySelectorAll('#keys-table tbody td')].some((td) => td.textContent === 'revoked'));
  });

  it('is readable at 375 px and usable with the keyboard alone', async () => {
    await page.setViewport({ width: 375, height: 800 });
    await openPage('#providers');
    await rowOf('fallback');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    await screenshot('providers-375');
    // Every control has a label (or an aria-label).
    const unlabeled = await page.$$eval('input, select, textarea, button', (controls) => controls
      .filter((c) => c.type !== 'hidden')
      .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
      .map((c) => c.id || c.outerHTML.slice(0, 60)));
    assert.deepEqual(unlabeled, []);
    // Tab reaches the navigation, Enter follows it.
    await page.setViewport({ width: 1280, height: 900 });
    await page.focus('.skip');  // the first stop of the page's tab order
    let reached = null;
    for (let i = 0; i < 12 && reached !== 'playground'; ++i) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.dataset?.page || null);
    }
    assert.equal(reached, 'playground');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#page-playground:not([hidden])');
  });
});
