import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ARTIFACTS, ROOT } from './artifacts.js';

for (const artifact of ARTIFACTS) {
  const target = join(ROOT, artifact.path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, await artifact.build());
  console.log(`wrote ${artifact.path}`);
}
