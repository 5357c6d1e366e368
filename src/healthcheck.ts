// The image's HEALTHCHECK: it has no shell or curl, so node itself asks the liveness probe.
import { healthcheckPort } from './config/port.js';

const port = healthcheckPort();
const TIMEOUT_MS = 2000;

try {
  const response = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
