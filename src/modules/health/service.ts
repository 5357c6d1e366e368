import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../../db/client.js';

export interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
}

export interface Lifecycle {
  shuttingDown: boolean;
}

export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly database: DatabaseHandle,
    private readonly lifecycle: Lifecycle,
  ) {}

  uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  async checkDatabase(): Promise<DependencyCheck> {
    const started = performance.now();
    try {
      await this.database.db.execute(sql`select 1`);
      return { status: 'up', latencyMs: performance.now() - started };
    } catch {
      return { status: 'down', latencyMs: performance.now() - started };
    }
  }

  /** The database check, and why the service should not get traffic (null when it is ready). */
  async readiness(): Promise<{ database: DependencyCheck; notReadyReason: string | null }> {
    const database = await this.checkDatabase();
    if (this.lifecycle.shuttingDown) return { database, notReadyReason: 'The service is shutting down' };
    if (database.status === 'down') return { database, notReadyReason: 'The database is unreachable' };
    if (!(await this.database.migrationsApplied())) {
      return { database, notReadyReason: 'Database migrations have not been applied' };
    }
    return { database, notReadyReason: null };
  }
}
