// The dashboard's pages. Data comes only from api.js; everything shown is set as text (never as
// markup), so names and messages from the server cannot inject script.
import * as api from './api.js';
import { seriesColour, stackedBars } from './charts.js';

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function element(tag, attributes = {}, text) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function say(message, isError = false) {
  const status = $('#status');
  status.textContent = message;
  status.classList.toggle('error', isError);
}

function describe(error) {
  return error instanceof api.ApiError ? `${error.message} (${error.status})` : String(error.message || error);
}

// Asks before a destructive action; resolves true when confirmed.
function confirmAction(text, okLabel) {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

window.addEventListener('llmux-session-ended', () => window.location.assign('/ui/login'));

// ---------------------------------------------------------------- navigation

const pages = {};

function show(route) {
  const [page, arg] = route.replace(/^#/, '').split('/').map(decodeURIComponent);
  const name = pages[page] ? page : 'providers';
  for (const section of $$('main > section')) section.hidden = section.dataset.page !== name;
  for (const link of $$('nav a')) {
    if (link.dataset.page === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  pages[name](arg);
}

let flash = '';  // a message for the page being opened (set just before navigating)

window.addEventListener('hashchange', () => {
  say(flash);
  flash = '';
  show(window.location.hash);
  const heading = $(`main > section:not([hidden]) h1`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
});

// ---------------------------------------------------------------- providers

function formatMs(ms) {
  return ms === null || ms === undefined ? '–' : `${Math.round(ms)} ms`;
}

function numberOrDash(n) {
  return n === null || n === undefined ? '–' : String(Math.round(n * 10) / 10);
}

function providerRow(p) {
  const row = element('tr', { 'data-provider': p.name, class: p.enabled ? '' : 'disabled' });
  const nameCell = element('th', { scope: 'row' });
  nameCell.append(element('span', {}, p.name));
  if (p.isDefault) nameCell.append(' ', element('span', { class: 'badge' }, 'default'));
  if (!p.enabled) nameCell.append(' ', element('span', { class: 'badge muted' }, 'disabled'));
  row.append(nameCell);
  row.append(element('td', {}, p.type));
  row.append(element('td', { class: 'url' }, p.baseUrl));
  row.append(element('td', {}, p.models.map((m) => m.id).join(', ') || '–'));
  const health = element('td', { class: `health health-${p.health.status}`, 'data-health': p.health.status });
  health.append(element('span', { class: 'dot', 'aria-hidden': 'true' }), ` ${p.health.status}`);
  row.append(health);
  row.append(element('td', {}, formatMs(p.health.latencyMs ?? p.p95Ms)));
  row.append(element('td', {}, numberOrDash(p.requestsPerMinute)));
  row.append(element('td', {}, numberOrDash(p.errors)));
  row.append(element('td', { class: `breaker breaker-${p.breaker}` }, p.breaker.replace('_', '-')));

  const actions = element('td', { class: 'row-actions' });
  const readOnly = p.origin && p.origin !== 'store';
  const button = (label, action, extra = {}) => {
    const b = element('button', { type: 'button', 'data-action': action, 'aria-label': `${label} ${p.name}`, ...extra }, label);
    b.addEventListener('click', () => providerAction(p, action));
    actions.append(b);
  };
  button(p.enabled ? 'Disable' : 'Enable', p.enabled ? 'disable' : 'enable');
  if (!p.isDefault) button('Set default', 'default');
  if (!readOnly) {
    button('Edit', 'edit');
    button('Delete', 'delete', { class: 'danger' });
  }
  row.append(actions);
  return row;
}

async function providerAction(p, action) {
  try {
    if (action === 'edit') {
      window.location.hash = `#provider-form/${encodeURIComponent(p.name)}`;
      return;
    }
    if (action === 'delete') {
      if (!(await confirmAction(`Delete the provider "${p.name}"? Requests stop going to it at once.`, 'Delete'))) return;
      await api.deleteProvider(p.name);
      say(`Deleted ${p.name}.`);
    } else if (action === 'default') {
      await api.setDefaultProvider(p.name);
      say(`${p.name} is now the default provider.`);
    } else {
      await api.setProviderEnabled(p.name, action === 'enable');
      say(`${p.name} ${action === 'enable' ? 'enabled' : 'disabled'}.`);
    }
  } catch (error) {
    say(`Could not ${action} ${p.name}: ${describe(error)}`, true);
  }
  await pages.providers();
}

pages.providers = async () => {
  const body = $('#providers-table tbody');
  try {
    const providers = await api.listProviders();
    body.replaceChildren(...providers.map(providerRow));
    $('#providers-empty').hidden = providers.length > 0;
    $('#providers-table').dataset.loaded = String(Date.now());
  } catch (error) {
    say(`Could not load the providers: ${describe(error)}`, true);
  }
};
$('#providers-refresh').addEventListener('click', () => pages.providers());

// ---------------------------------------------------------------- provider form

let editing = null;  // {name, etag} while editing a saved provider
let savedHeaders = '{}';  // the stored headers as shown (values masked): unchanged ones are not resent
let rowSerial = 0;

function addRow(containerId, templateId, values = {}) {
  const fragment = $(`#${templateId}`).content.cloneNode(true);
  const row = fragment.firstElementChild;
  const serial = ++rowSerial;
  for (const field of $$('.field', row)) {
    const input = $('input', field);
    const label = $('label', field);
    const error = $('.field-error', field);
    input.id = `${input.className}-${serial}`;
    label.htmlFor = input.id;
    if (error) {
      error.id = `${input.id}-error`;
      input.setAttribute('aria-describedby', error.id);
    }
    if (values[input.className] !== undefined && values[input.className] !== null) input.value = values[input.className];
  }
  const container = $(`#${containerId}`);
  $('.remove', row).addEventListener('click', () => {
    row.remove();
    const next = $('input', container);
    (next || $(`#${containerId}`).nextElementSibling).focus();
  });
  container.append(row);
  return row;
}

function clearFieldErrors() {
  for (const p of $$('#provider-form .field-error')) p.textContent = '';
  for (const input of $$('#provider-form [aria-invalid]')) input.removeAttribute('aria-invalid');
  $('#pf-message').textContent = '';
  $('#pf-message').classList.remove('error');
}

function fillForm(p) {
  $('#pf-name').value = p ? p.name : '';
  $('#pf-name').readOnly = Boolean(p);
  $('#pf-type').value = p ? p.type : 'openai-compatible';
  $('#pf-base-url').value = p ? p.baseUrl : '';
  $('#pf-api-key').value = '';
  $('#pf-api-key').placeholder = p && p.apiKey ? `stored: ${p.apiKey}` : '';
  $('#pf-auth-type').value = p ? p.authType : '';
  $('#pf-default-model').value = p ? p.defaultModel : '';
  $('#pf-priority').value = p && p.priority !== null ? p.priority : '';
  $('#pf-models').replaceChildren();
  $('#pf-headers').replaceChildren();
  for (const m of p ? p.models : [{}]) {
    addRow('pf-models', 'model-row', {
      'm-id': m.id, 'm-name': m.name, 'm-context': m.contextWindow,
      'm-input': m.pricing?.inputPerMtok, 'm-output': m.pricing?.outputPerMtok,
    });
  }
  for (const [name, value] of Object.entries(p ? p.headers : {})) addRow('pf-headers', 'header-row', { 'h-name': name, 'h-value': value });
  savedHeaders = JSON.stringify(p ? p.headers : {});
  $('#pf-auth-header-field').hidden = $('#pf-auth-type').value !== 'api-key';
  $('#pf-test-result').hidden = true;
  clearFieldErrors();
}

// The form as the API's ProviderConfig (the seeds' camelCase keys).
function formConfig() {
  const config = {
    name: $('#pf-name').value.trim(),
    type: $('#pf-type').value,
    baseUrl: $('#pf-base-url').value.trim(),
  };
  const apiKey = $('#pf-api-key').value;
  if (apiKey) config.apiKey = apiKey;
  if ($('#pf-auth-type').value) config.authType = $('#pf-auth-type').value;
  if ($('#pf-auth-type').value === 'api-key' && $('#pf-auth-header').value.trim()) config.authHeader = $('#pf-auth-header').value.trim();
  config.models = $$('#pf-models .model-row').map((row) => {
    const model = { id: $('.m-id', row).value.trim() };
    if ($('.m-name', row).value.trim()) model.name = $('.m-name', row).value.trim();
    if ($('.m-context', row).value) model.contextWindow = Number($('.m-context', row).value);
    const input = $('.m-input', row).value;
    const output = $('.m-output', row).value;
    if (input || output) {
      model.pricing = {};
      if (input) model.pricing.input_per_mtok = Number(input);
      if (output) model.pricing.output_per_mtok = Number(output);
    }
    return model;
  }).filter((m) => m.id || m.name || m.contextWindow || m.pricing);
  if ($('#pf-priority').value) config.priority = Number($('#pf-priority').value);
  if ($('#pf-default-model').value.trim()) config.defaultModel = $('#pf-default-model').value.trim();
  const headers = {};
  for (const row of $$('#pf-headers .header-row')) {
    const name = $('.h-name', row).value.trim();
    if (name) headers[name] = $('.h-value', row).value;
  }
  if (Object.keys(headers).length) config.headers = headers;
  // Editing: masked header values that nobody touched stay as stored.
  if (editing && JSON.stringify(headers) === savedHeaders) delete config.headers;
  return config;
}

const FIELD_ALIASES = {
  base_url: 'baseUrl', api_key: 'apiKey', default_model: 'defaultModel', auth_type: 'authType',
  auth_header: 'authHeader', context_window: 'contextWindow', provider_type: 'type', id: 'name',
};
const MODEL_INPUTS = { id: '.m-id', contextWindow: '.m-context', pricing: '.m-input', input: '.m-input', output: '.m-output',
  input_per_mtok: '.m-input', output_per_mtok: '.m-output' };

// Puts each {field, message} next to its control; answers the ones no control matched.
function showFieldErrors(fieldErrors) {
  const unplaced = [];
  for (const { field, message } of fieldErrors) {
    const path = String(field || '').replace(/^providers[.[][^.\]]*\]?\./, '');
    const parts = path.split('.').map((part) => FIELD_ALIASES[part] || part);
    let target = null;
    let input = null;
    const model = /^models\[(\d+)\]$/.exec(parts[0]);
    if (model) {
      const row = $$('#pf-models .model-row')[Number(model[1])];
      const key = parts[parts.length - 1];
      input = row && (row.querySelector(MODEL_INPUTS[key] || '.m-id'));
      target = input && input.parentElement.querySelector('.field-error');
    } else if (parts[0] === 'headers' || /^headers\[/.test(parts[0])) {
      target = $('#pf-headers-error');
    } else {
      target = $(`#provider-form [data-error-for="${CSS.escape(parts[0])}"]`);
      input = $(`#provider-form [data-field="${CSS.escape(parts[0])}"]`);
    }
    if (!target) {
      unplaced.push(`${field}: ${message}`);
      continue;
    }
    target.textContent = target.textContent ? `${target.textContent} ${message}` : message;
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  return unplaced;
}

function formFailure(what, error) {
  const unplaced = error instanceof api.ApiError ? showFieldErrors(error.fieldErrors) : [];
  const message = $('#pf-message');
  const placed = error instanceof api.ApiError && error.fieldErrors.length > unplaced.length;
  message.textContent = `${what} failed: ${placed ? 'see the fields marked below.' : describe(error)}` +
    (unplaced.length ? ` ${unplaced.join('; ')}` : '');
  message.classList.add('error');
  const firstInvalid = $('#provider-form [aria-invalid="true"]');
  if (firstInvalid) firstInvalid.focus();
}

function renderChecks(result) {
  const list = $('#pf-checks');
  list.replaceChildren(...result.checks.map((check) => {
    const item = element('li', { class: `check check-${check.status}`, 'data-check': check.name, 'data-status': check.status });
    item.append(element('span', { class: 'check-status' }, check.status.toUpperCase()), ' ',
      element('span', { class: 'check-name' }, check.name), ' ',
      element('span', { class: 'check-latency' }, formatMs(check.latencyMs)));
    if (check.reason) item.append(element('p', { class: 'check-reason' }, check.reason));
    return item;
  }));
  $('#pf-test-title').textContent = result.passed ? 'Connection test: all checks passed' : 'Connection test: some checks failed';
  $('#pf-test-result').dataset.passed = String(result.passed);
  $('#pf-test-result').hidden = false;
}

$('#pf-auth-type').addEventListener('change', () => {
  $('#pf-auth-header-field').hidden = $('#pf-auth-type').value !== 'api-key';
});
$('#pf-add-model').addEventListener('click', () => $('input', addRow('pf-models', 'model-row')).focus());
$('#pf-add-header').addEventListener('click', () => $('input', addRow('pf-headers', 'header-row')).focus());
$('#pf-cancel').addEventListener('click', () => { window.location.hash = '#providers'; });

$('#pf-test').addEventListener('click', async () => {
  clearFieldErrors();
  const button = $('#pf-test');
  button.disabled = true;
  $('#pf-message').textContent = 'Testing the connection…';
  try {
    // An edit without a new key tests the saved provider, which has the stored key.
    const config = formConfig();
    const result = editing && !config.apiKey ? await api.testSavedProvider(editing.name) : await api.testProviderConfig(config);
    renderChecks(result);
    $('#pf-message').textContent = result.passed ? 'All checks passed.' : 'Some checks failed; see below.';
  } catch (error) {
    formFailure('The connection test', error);
  } finally {
    button.disabled = false;
  }
});

$('#provider-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFieldErrors();
  const button = $('#pf-save');
  button.disabled = true;
  try {
    const config = formConfig();
    const saved = editing ? await api.updateProvider(editing.name, config, editing.etag) : await api.registerProvider(config);
    flash = `Saved ${saved.name || config.name}.`;
    window.location.hash = '#providers';
  } catch (error) {
    formFailure('Saving', error);
  } finally {
    button.disabled = false;
  }
});

pages['provider-form'] = async (name) => {
  editing = null;
  $('#form-title').textContent = name ? `Edit ${name}` : 'Add a custom provider';
  fillForm(null);
  if (!name) return;
  try {
    const p = await api.getProvider(name);
    editing = { name: p.name, etag: p.etag };
    fillForm(p);
  } catch (error) {
    formFailure(`Loading ${name}`, error);
  }
};

// ---------------------------------------------------------------- usage

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function daysBetween(since, until) {
  const days = [];
  for (let d = new Date(`${since}T00:00:00Z`); isoDay(d) <= until && days.length < 92; d.setUTCDate(d.getUTCDate() + 1))
    days.push(isoDay(d));
  return days;
}

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return isoDay(d);
}

const METRICS = {
  requests: { label: 'Requests', format: (n) => String(Math.round(n)) },
  tokens: { label: 'Tokens', format: (n) => (n >= 10000 ? `${Math.round(n / 1000)}k` : String(Math.round(n))) },
  cost: { label: 'Cost (USD)', format: (n) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}` },
};

let usageRun = 0;

async function showUsage() {
  const run = ++usageRun;
  const since = $('#usage-since').value;
  const until = $('#usage-until').value;
  const by = $('#usage-by').value;
  const metric = $('#usage-metric').value;
  if (!since || !until || since > until) {
    $('#usage-note').textContent = 'Choose a start date on or before the end date.';
    return;
  }
  const days = daysBetween(since, until);
  $('#usage-note').textContent = days.length === 92 ? 'Showing the first 92 days of the range.' : '';
  try {
    // The ledger groups by one dimension at a time: one query per day, split by provider or model.
    const [perDay, total] = await Promise.all([
      Promise.all(days.map((day) => api.usage({ since: day, until: nextDay(day), by }))),
      api.usage({ since: days[0], until: nextDay(days[days.length - 1]), by }),
    ]);
    if (run !== usageRun) return;  // a newer request is on its way
    if (!total.available) {
      $('#usage-note').textContent = 'The usage ledger is off (ledger.enabled in the config), so there is no history to show.';
    }
    const names = [...new Set(perDay.flatMap((r) => r.groups.map((g) => g.group)))].sort();
    const series = names.map((name) => ({
      name: name || '(no provider)',
      values: perDay.map((r) => r.groups.find((g) => g.group === name)?.[metric] ?? 0),
    }));
    const chart = $('#usage-chart');
    chart.replaceChildren(stackedBars({
      title: `${METRICS[metric].label} per day by ${by}, ${since} to ${until}`,
      days, series, format: METRICS[metric].format,
    }));
    chart.dataset.metric = metric;
    chart.dataset.by = by;
    chart.dataset.total = String(series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0));
    $('#usage-legend').replaceChildren(...series.map((s, i) => {
      const item = element('span', { class: 'legend-item' });
      const swatch = element('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = seriesColour(i);
      item.append(swatch, s.name);
      return item;
    }));
    const cell = (v) => element('td', {}, v);
    const rowOf = (g, head) => {
      const row = element('tr');
      row.append(element(head ? 'th' : 'th', { scope: 'row' }, g.group || (head ? 'Total' : '(no provider)')),
        cell(g.requests), cell(g.failedRequests), cell(g.inputTokens), cell(g.outputTokens), cell(g.cost.toFixed(6)));
      return row;
    };
    $('#usage-table tbody').replaceChildren(...total.groups.map((g) => rowOf(g, false)));
    $('#usage-table tfoot').replaceChildren(...(total.total ? [rowOf({ ...total.total, group: '' }, true)] : []));
  } catch (error) {
    say(`Could not load the usage: ${describe(error)}`, true);
  }
}

$('#usage-form').addEventListener('submit', (event) => {
  event.preventDefault();
  showUsage();
});
for (const id of ['#usage-by', '#usage-metric']) $(id).addEventListener('change', showUsage);

pages.usage = () => {
  if (!$('#usage-until').value) {
    const today = new Date();
    $('#usage-until').value = isoDay(today);
    today.setUTCDate(today.getUTCDate() - 6);
    $('#usage-since').value = isoDay(today);
  }
  return showUsage();
};

// ---------------------------------------------------------------- keys

function keyRow(k) {
  const row = element('tr', { 'data-key': k.id, class: k.revoked ? 'disabled' : '' });
  row.append(element('th', { scope: 'row' }, k.name), element('td', { class: 'mono' }, k.prefix),
    element('td', {}, k.models.length ? k.models.join(', ') : 'all'), element('td', {}, k.rpm ?? '–'),
    element('td', {}, k.budget ?? '–'), element('td', {}, k.created ?? '–'),
    element('td', {}, k.revoked ? 'revoked' : 'active'));
  const actions = element('td');
  if (!k.revoked) {
    const revoke = element('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}` }, 'Revoke');
    revoke.addEventListener('click', async () => {
      if (!(await confirmAction(`Revoke the key "${k.name}"? Clients using it get 401 at once.`, 'Revoke'))) return;
      try {
        await api.revokeKey(k.id);
        say(`Revoked ${k.name}.`);
      } catch (error) {
        say(`Could not revoke ${k.name}: ${describe(error)}`, true);
      }
      pages.keys();
    });
    actions.append(revoke);
  }
  row.append(actions);
  return row;
}

pages.keys = async () => {
  try {
    const keys = await api.listKeys();
    $('#keys-table tbody').replaceChildren(...keys.map(keyRow));
  } catch (error) {
    say(`Could not load the keys: ${describe(error)}`, true);
  }
};

$('#key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = { name: $('#key-name').value.trim() };
  const models = $('#key-models').value.split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length) fields.models = models;
  if ($('#key-rpm').value) fields.rpm = Number($('#key-rpm').value);
  if ($('#key-budget').value) fields.budget = Number($('#key-budget').value);
  try {
    const created = await api.createKey(fields);
    $('#key-secret-value').value = created.secret || '';
    $('#key-secret').hidden = false;
    $('#key-secret-value').focus();
    $('#key-secret-value').select();
    $('#key-form').reset();
    await pages.keys();
  } catch (error) {
    say(`Could not create the key: ${describe(error)}`, true);
  }
});

// ---------------------------------------------------------------- playground

let playgroundAbort = null;

async function loadModels() {
  const select = $('#pg-model');
  try {
    const models = await api.servedModels($('#pg-gateway-key').value);
    const previous = select.value;
    select.replaceChildren(...models.map((id) => element('option', { value: id }, id)));
    if (models.includes(previous)) select.value = previous;
    $('#pg-state').textContent = models.length ? '' : 'The gateway serves no model yet.';
  } catch (error) {
    $('#pg-state').textContent = `Could not list the models: ${describe(error)}`;
  }
}

$('#pg-reload-models').addEventListener('click', loadModels);
$('#pg-gateway-key').addEventListener('change', loadModels);
$('#pg-stop').addEventListener('click', () => playgroundAbort && playgroundAbort.abort());

$('#playground-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const answer = $('#pg-answer');
  answer.textContent = '';
  answer.dataset.state = 'streaming';
  $('#pg-state').textContent = 'Streaming…';
  $('#pg-send').disabled = true;
  $('#pg-stop').disabled = false;
  playgroundAbort = new AbortController();
  let pieces = 0;
  try {
    await api.streamChat({
      model: $('#pg-model').value,
      messages: [{ role: 'user', content: $('#pg-message').value }],
      gatewayKey: $('#pg-gateway-key').value,
      signal: playgroundAbort.signal,
      onDelta: (text) => {
        pieces += 1;
        answer.dataset.pieces = String(pieces);
        answer.append(text);
      },
    });
    answer.dataset.state = 'done';
    $('#pg-state').textContent = `Done: ${pieces} piece${pieces === 1 ? '' : 's'} streamed.`;
  } catch (error) {
    answer.dataset.state = 'failed';
    $('#pg-state').textContent = error.name === 'AbortError' ? 'Stopped.' : `Failed: ${describe(error)}`;
  } finally {
    $('#pg-send').disabled = false;
    $('#pg-stop').disabled = true;
    playgroundAbort = null;
  }
});

pages.playground = () => loadModels();

show(window.location.hash);
