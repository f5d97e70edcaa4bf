// The processes the compatibility tests run: llmux and llmux-fake-provider on loopback, started
// and stopped on real events (a stdout line, a process exit) with deadlines; nothing sleeps to
// synchronise. run.sh sets LLMUX_BINARY and LLMUX_FAKE_BINARY.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LLMUX_BINARY = process.env.LLMUX_BINARY;
export const LLMUX_FAKE_BINARY = process.env.LLMUX_FAKE_BINARY;
if (!LLMUX_BINARY || !LLMUX_FAKE_BINARY) {
  throw new Error('set LLMUX_BINARY and LLMUX_FAKE_BINARY (run.sh does: run.sh LLMUX FAKE_PROVIDER)');
}

const START_DEADLINE_MS = 10_000;
const STOP_DEADLINE_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 20_000;

export const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmux-npm-compat-'));
export const stateDir = path.join(tmpDir, 'state');
const children = new Set();

// Safety net if the run dies before the after() hooks: never leave our own children behind.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// Starts `binary args...` and resolves once its first stdout line is
// "listening on http://HOST:PORT"; rejects if that line differs, the process exits first, or the
// deadline passes. Output is kept for error messages and drained so the child never blocks.
export function startListening(name, binary, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const proc = { name, child, port: 0, stdout: '', stderr: '' };
    let settled = false;
    const settle = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(new Error(`${name}: ${err}\nstdout:\n${proc.stdout}\nstderr:\n${proc.stderr}`));
      } else {
        resolve(proc);
      }
    };
    const timer = setTimeout(() => settle(`no "listening on" line within ${START_DEADLINE_MS} ms`),
      START_DEADLINE_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { if (proc.stderr.length < 65536) proc.stderr += d; });
    child.stdout.on('data', (d) => {
      if (proc.stdout.length < 65536) proc.stdout += d;
      if (settled) return;
      const nl = proc.stdout.indexOf('\n');
      if (nl < 0) return;
      const first = proc.stdout.slice(0, nl).replace(/\r$/, '');
      const m = /^listening on https?:\/\/(.+):(\d+)$/.exec(first);
      if (!m || Number(m[2]) <= 0) return settle(`unexpected first stdout line: ${JSON.stringify(first)}`);
      proc.port = Number(m[2]);
      settle();
    });
    child.on('error', (e) => settle(`cannot start ${binary}: ${e.message}`));
    child.on('exit', (code, signal) => {
      children.delete(child);
      settle(`exited (code ${code}, signal ${signal}) before listening`);
    });
  });
}

// SIGTERM, then SIGKILL if the process has not exited by the deadline.
export function stop(proc) {
  if (!proc) return Promise.resolve();
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function startFake(args = []) {
  return startListening('llmux-fake-provider', LLMUX_FAKE_BINARY, ['--port', '0', ...args]);
}


// Writes `configText` to a file named after `name` and starts `llmux serve` on it.
export function startGatewayWithConfig(name, configText) {
  const configPath = path.join(tmpDir, `${name}.yaml`);
  fs.writeFileSync(configPath, configText);
  return startListening('llmux', LLMUX_BINARY, ['serve', '--config', configPath, '--port', '0'],
    { XDG_STATE_HOME: stateDir });
}
