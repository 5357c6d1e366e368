import { AsyncLocalStorage } from 'node:async_hooks';

/** Carries the request id through every async hop of a request, so each log line can name it. */
export class RequestScope {
  private readonly storage = new AsyncLocalStorage<{ requestId: string }>();

  run<T>(requestId: string, fn: () => T): T {
    return this.storage.run({ requestId }, fn);
  }

  requestId(): string | undefined {
    return this.storage.getStore()?.requestId;
  }
}
