import { createRequire } from 'node:module';
import type { Agent } from 'undici';

/**
 * undici's Agent with its request API, without undici's index. The index also loads fetch,
 * WebSocket, EventSource, the caches and the mocks: about 140 ms of a no-op re-push (the whole
 * run is 0.4 s), where the Agent and the api mixin take about 50. This does what the index does for
 * them (`Object.assign(Dispatcher.prototype, api)`); the registry tests exercise it on every push,
 * so a change of undici's layout fails loudly, not silently.
 */
export function loadAgent(): typeof Agent {
  const require = createRequire(import.meta.url);
  const agent: unknown = require('undici/lib/dispatcher/agent.js');
  const dispatcher: unknown = require('undici/lib/dispatcher/dispatcher.js');
  const api: unknown = require('undici/lib/api/index.js');
  if (!isAgentClass(agent) || typeof dispatcher !== 'function' || typeof api !== 'object' || api === null) {
    throw new Error('undici layout changed: lib/dispatcher/agent.js, dispatcher.js or api/index.js not found');
  }
  const prototype: unknown = Reflect.get(dispatcher, 'prototype');
  if (typeof prototype === 'object' && prototype !== null && !('request' in prototype)) Object.assign(prototype, api);
  return agent;
}

function isAgentClass(value: unknown): value is typeof Agent {
  return typeof value === 'function' && 'prototype' in value;
}
