/**
 * Makes the embedded database's template data directory (src/db/embedded.ts): run by
 * `npm ci` as the `prepare` script, and by a first start that finds none.
 */
import { createEmbeddedTemplate } from '../db/embedded.js';

await createEmbeddedTemplate();
