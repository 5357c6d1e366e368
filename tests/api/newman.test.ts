import { readFileSync } from 'node:fs';
import newman from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

const COLLECTION_FILE = new URL('../../postman/fm-auth.postman_collection.json', import.meta.url);

let server: TestServer;
beforeAll(async () => {
  // As in .env.development: the collection's redirectUri is on the front end's origin.
  server = await startServer({ CORS_ORIGINS: 'http://localhost:3000' });
});
afterAll(async () => {
  await server.close();
});

interface CollectionItem {
  id: string;
  item?: CollectionItem[];
  request?: unknown;
}

function requestIds(items: CollectionItem[]): string[] {
  return items.flatMap((item) => (item.request ? [item.id] : requestIds(item.item ?? [])));
}

describe('Postman collection', () => {
  it('runs green with newman against the service', async () => {
    const collection = JSON.parse(readFileSync(COLLECTION_FILE, 'utf8'));
    const summary = await new Promise<newman.NewmanRunSummary>((resolve, reject) => {
      newman.run({ collection, envVar: [{ key: 'baseUrl', value: server.baseUrl }], reporters: [] }, (err, result) =>
        err ? reject(err) : resolve(result),
      );
    });
    const failures = summary.run.failures.map((failure) => `${failure.source?.name}: ${failure.error.message}`);
    expect(failures).toEqual([]);
    const requests = requestIds(collection.item);
    const executed = new Set(summary.run.executions.map((execution) => execution.item.id));
    expect([...executed].sort()).toEqual([...requests].sort());
    expect(summary.run.stats.assertions.total).toBeGreaterThan(requests.length);
  });
});
