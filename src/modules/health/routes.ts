import type { Container } from '../../container.js';
import { AppError } from '../../core/errors.js';
import type { HandlersFor, Schemas } from '../../http/types.js';
import type { DependencyCheck } from './service.js';

function toCheck(check: DependencyCheck): Schemas['DependencyCheck'] {
  return { status: check.status, latency_ms: Math.round(check.latencyMs * 100) / 100 };
}

type HealthOperation = 'getServiceInfo' | 'getHealth' | 'getLiveness' | 'getReadiness';

export function healthHandlers({ services: { health }, version }: Container): HandlersFor<HealthOperation> {
  return {
    async getServiceInfo() {
      return { status: 200, body: { service: 'fm-auth', version, status: 'ok' } };
    },

    async getHealth() {
      const database = await health.checkDatabase();
      const up = database.status === 'up';
      const body: Schemas['Health'] = {
        status: up ? 'ok' : 'degraded',
        version,
        uptime_seconds: Math.round(health.uptimeSeconds()),
        checks: { database: toCheck(database) },
      };
      return up ? { status: 200, body } : { status: 503, body };
    },

    async getLiveness() {
      return { status: 200, body: { status: 'ok' } };
    },

    async getReadiness() {
      const readiness = await health.readiness();
      if (readiness.notReadyReason) throw AppError.unavailable('service_not_ready', readiness.notReadyReason);
      return {
        status: 200,
        body: { status: 'ready', checks: { database: toCheck(readiness.database), migrations: { status: 'up' } } },
      };
    },
  };
}
