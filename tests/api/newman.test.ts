import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import newman from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NPM_START_ARGS, spawnService } from '../helpers/process.js';
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

/** Runs the whole collection against `baseUrl`; answers its failures, after checking every request ran. */
async function runCollection(baseUrl: string): Promise<string[]> {
  const collection = JSON.parse(readFileSync(COLLECTION_FILE, 'utf8'));
  const summary = await new Promise<newman.NewmanRunSummary>((resolve, reject) => {
    newman.run({ collection, envVar: [{ key: 'base_url', value: baseUrl }], reporters: [] }, (err, result) => (err ? reject(err) : resolve(result)));
  });
  const requests = requestIds(collection.item);
  const executed = new Set(summary.run.executions.map((execution) => execution.item.id));
  expect([...executed].sort()).toEqual([...requests].sort());
  expect(summary.run.stats.assertions.total).toBeGreaterThan(requests.length);
  return summary.run.failures.map((failure) => `${failure.source?.name}: ${failure.error.message}`);
}

/** Every setting .env.example documents: the service started "as npm start" must see none of them. */
const SETTINGS = [...readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!);

describe('Postman collection', () => {
  it('runs green with newman against the service', async () => {
    expect(await runCollection(server.baseUrl)).toEqual([]);
  }, 90_000);

  it('runs green against a service started as `npm start` does, on its development defaults', async () => {
    // `npm start` is `node --import tsx src/main.ts`: the embedded database, the default limits,
    // no settings. Only the port (0: any free one), the loopback address spawnService waits on
    // and a data directory of its own differ, so parallel runs do not clash over ./data or 8000.
    const dataDir = mkdtempSync(join(tmpdir(), 'fm-auth-npm-start-'));
    const unset = Object.fromEntries(SETTINGS.map((name) => [name, undefined]));
    const service = await spawnService({ ...unset, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }, { args: NPM_START_ARGS });
    try {
      expect(await runCollection(service.baseUrl)).toEqual([]);
    } finally {
      service.signal('SIGTERM');
      await service.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
