import { it } from 'vitest';
import { startServer } from '../helpers/server.js';
it('times', async () => {
  for (let i = 0; i < 5; i++) {
    const t = Date.now();
    const s = await startServer();
    const t2 = Date.now();
    await s.request('GET', '/health/live');
    const t3 = Date.now();
    await s.close();
    console.log('start', t2 - t, 'first', t3 - t2, 'close', Date.now() - t3);
  }
}, 60000);
