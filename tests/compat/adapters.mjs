// One gateway in front of one fake provider with a provider of every adapter type llmux has, for
// the SDK tests that run the same calls through every adapter (openai_responses.test.mjs with the
// `openai` package, anthropic_sdk.test.mjs with `@anthropic-ai/sdk`).
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { startFake, startGatewayWithConfig, tmpDir } from './processes.mjs';

// [adapter type, model to ask for]: one provider per adapter, all on the same fake.
export const ADAPTERS = [
  ['openai-compatible', 'oa/fake-model'],
  ['anthropic', 'claude/fake-model'],
  ['gemini', 'gem/fake-model'],
  ['azure-openai', 'az/az-model'],
  ['vertex-ai', 'vx/fake-model'],
  ['aws-bedrock', 'br/fake-model'],
  ['ollama', 'llama/fake-model'],
  ['cohere', 'co/fake-model'],
];

// Vertex AI signs a JWT with a service-account key and exchanges it at the key's token_uri (the
// fake's /token, which checks the assertion's shape and claims).
function vertexKeyFile(tokenUri) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = path.join(tmpDir, 'vertex-sa.json');
  fs.writeFileSync(file, JSON.stringify({
    type: 'service_account',
    project_id: 'proj-1',
    private_key_id: 'kid-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: 'gw@proj-1.iam.gserviceaccount.com',
    token_uri: tokenUri,
  }));
  return file;
}

function everyAdapterConfig(fakePort, { masterKey } = {}) {
  const root = `http://127.0.0.1:${fakePort}`;
  return [
    ...(masterKey ? [`master_key: ${masterKey}`] : []),
    'providers:',
    '  oa:',
    `    base_url: ${root}/v1`,
    '    api_key: sk-fake',
    '    responses: true',
    '    models: [fake-model]',
    '  claude:',
    '    type: anthropic',
    `    base_url: ${root}/v1`,
    '    api_key: sk-ant-fake',
    '    models: [fake-model]',
    '  gem:',
    '    type: gemini',
    `    base_url: ${root}/v1beta`,
    '    api_key: gemini-fake-key',
    '    models: [fake-model]',
    '  az:',
    '    type: azure-openai',
    `    baseUrl: ${root}`,
    '    apiKey: azure-fake-key',
    '    apiVersion: "2024-10-21"',
    '    models:',
    '      - id: az-model',
    '        deployment: prod-4o',
    '  vx:',
    '    type: vertex-ai',
    '    projectId: proj-1',
    '    region: us-central1',
    `    serviceAccountKey: ${vertexKeyFile(`${root}/token`)}`,
    `    base_url: ${root}/v1`,
    '    models: [fake-model]',
    '  br:',
    '    type: aws-bedrock',
    `    base_url: ${root}/bedrock`,  // the fake serves Bedrock's runtime API under /bedrock
    '    region: us-west-2',
    '    accessKeyId: AKIDEXAMPLE',
    '    secretAccessKey: wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    '    models: [fake-model]',
    '  llama:',
    '    type: ollama',
    `    base_url: ${root}`,
    '    models: [fake-model]',
    '  co:',
    '    type: cohere',
    `    base_url: ${root}/cohere/v2`,  // the fake serves Cohere's API under /cohere
    '    api_key: co-fake-key',
    '    models: [fake-model]',
    '',
  ].join('\n');
}

// Starts the fake and, in front of it, a gateway named `name` with every adapter's provider.
// Resolves with both processes (stop them with processes.mjs's stop()).
export async function startEveryAdapterGateway(name, options = {}) {
  const fake = await startFake();
  const gateway = await startGatewayWithConfig(name, everyAdapterConfig(fake.port, options));
  return { fake, gateway };
}
