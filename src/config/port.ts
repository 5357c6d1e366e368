/** PORT when it is not set. */
export const DEFAULT_PORT = 8000;

/**
 * The port the image's HEALTHCHECK asks (src/healthcheck.ts): PORT as given, without loading and
 * validating the rest of the configuration, which the check repeats every few seconds.
 */
export function healthcheckPort(env: Record<string, string | undefined> = process.env): string {
  return env.PORT ?? String(DEFAULT_PORT);
}
