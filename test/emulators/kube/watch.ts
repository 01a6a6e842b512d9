import type { ServerResponse } from 'node:http';
import type { ResourceRequest } from './resources.ts';
import { fieldSelector, labelSelector, SelectorError } from './selectors.ts';
import type { KubeState, StoredObject, WatchEvent } from './state.ts';
import { type Answer, badRequest } from './status.ts';
import { table, wantsTable } from './tables.ts';

/**
 * A watch: newline-delimited JSON events on one chunked response, from `resourceVersion` on (every
 * later change), or, without one, ADDED for each current object first.
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes and
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-watch
 * Answers an Answer for a request that cannot start (a bad selector), else streams until the client
 * leaves, `timeoutSeconds` pass, or the server closes.
 */
export function serveWatch(state: KubeState, req: ResourceRequest, res: ServerResponse): Answer | undefined {
  let matches: (o: StoredObject) => boolean;
  try {
    const labels = labelSelector(req.query.get('labelSelector'));
    const fields = fieldSelector(req.spec.kind, req.query.get('fieldSelector'));
    const { kind } = req.spec;
    matches = (o) =>
      o.kind === kind &&
      (req.namespace === undefined || o.metadata.namespace === req.namespace) &&
      labels(o) &&
      fields(o);
  } catch (error) {
    if (error instanceof SelectorError) return badRequest(error.message);
    throw error;
  }
  const from = req.query.get('resourceVersion');
  const asTable = wantsTable(req.accept);
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  // Headers now: a client waits for them before it makes the changes it watches for.
  res.flushHeaders();
  const send = (event: WatchEvent) => {
    const object = asTable ? table(req.spec.kind, [event.object], event.object.metadata.resourceVersion) : event.object;
    res.write(`${JSON.stringify({ type: event.type, object })}\n`);
  };
  if (from === null || from === '' || from === '0') {
    for (const object of state.list(req.spec.kind, req.namespace).filter(matches)) send({ type: 'ADDED', object });
  } else {
    const since = Number(from);
    for (const event of state.history)
      if (Number(event.object.metadata.resourceVersion) > since && matches(event.object)) send(event);
  }
  const listener = (event: WatchEvent) => {
    if (matches(event.object)) send(event);
  };
  state.changes.on('event', listener);
  const seconds = Number(req.query.get('timeoutSeconds') ?? '0');
  const timer = seconds > 0 ? setTimeout(() => res.end(), seconds * 1000) : undefined;
  res.on('close', () => {
    state.changes.off('event', listener);
    if (timer !== undefined) clearTimeout(timer);
  });
  return undefined;
}
