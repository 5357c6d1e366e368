/** The benchmark's own organization and accounts, and the login and refresh traffic they make. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { API, type Credentials, jsonHeaders, login, PASSWORD, post, type Tokens } from './service.js';

export interface Tenant {
  organizationId: string;
  /** The organization's admin: registered it, holds audit:read. */
  admin: Credentials;
  /** The platform super-admin, in an organization of its own. */
  root: Credentials;
  members: { id: string; email: string }[];
}

/** What autocannon passes from a request to its response (it clears it before the next request). */
export interface RequestState {
  refreshToken?: string;
  refreshing?: boolean;
}

/** Registers an organization with an admin and `memberCount` members, through the API. */
export async function openTenant(app: string, env: NodeJS.ProcessEnv, url: string, memberCount: number): Promise<Tenant> {
  const admin = { email: `bench.admin.${Date.now()}@example.com`, password: PASSWORD };
  const registered = await post<{ organization_id: string }>(`${url}${API}/auth/register`, { ...admin, full_name: 'Bench Admin', organization_name: 'Bench Co' });
  const organizationId = registered.organization_id;
  const adminTokens = await login(url, admin);
  const root = await createSuperadmin(app, env);
  // The members, the admin, and the user the SAML scenario provisions just in time.
  await allowMembers(url, root, organizationId, memberCount + 2);
  const members: Tenant['members'] = [];
  for (let i = 0; i < memberCount; i += 1) {
    const email = `bench.member.${i}.${Date.now()}@example.com`;
    members.push(await post(`${url}${API}/users`, { organization_id: organizationId, email, full_name: `Member ${i}`, password: PASSWORD }, adminTokens.access_token));
  }
  return { organizationId, admin, root, members };
}

async function createSuperadmin(app: string, env: NodeJS.ProcessEnv): Promise<Credentials> {
  const root = { email: `bench.root.${Date.now()}@example.com`, password: PASSWORD };
  const cli = spawn(process.execPath, [join(app, 'dist/cli/admin.js'), 'create-superadmin', '--email', root.email], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  cli.stdin.end(`${PASSWORD}\n`);
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  if (code !== 0) throw new Error(`create-superadmin exited with ${String(code)}`);
  return root;
}

/** An organization holds 25 users by default; only the platform super-admin raises that. */
async function allowMembers(url: string, root: Credentials, organizationId: string, users: number): Promise<void> {
  const rootTokens = await login(url, root);
  const response = await fetch(`${url}${API}/organizations/${organizationId}`, {
    method: 'PUT',
    headers: { ...jsonHeaders(), authorization: `Bearer ${rootTokens.access_token}` },
    body: JSON.stringify({ max_users: users }),
  });
  if (!response.ok) throw new Error(`raising max_users answered ${response.status}: ${await response.text()}`);
}

let clients = 0;
/** Each login comes from a client of its own, as real traffic: one client's parallel logins to one account are throttled. */
const anotherClient = () => {
  clients += 1;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
};

/** Password logins of the members in turn. */
export function loginRequests(members: Tenant['members']) {
  let member = 0;
  return (request: autocannon.Request) => ({
    ...request,
    method: 'POST' as const,
    path: `${API}/auth/login`,
    headers: { ...jsonHeaders(), 'x-forwarded-for': anotherClient() },
    body: JSON.stringify({ email: members[member++ % members.length]?.email, password: PASSWORD }),
  });
}

/**
 * Sessions rotate as clients use them: each refresh presents the newest token of a session (a
 * queue of them, one per session, so none is presented twice) and queues the one it gets back.
 */
export class RefreshQueue {
  private constructor(private readonly latest: string[]) {}

  static async open(url: string, members: Tenant['members'], sessions: number): Promise<RefreshQueue> {
    const latest: string[] = [];
    for (let i = 0; i < sessions; i += 1) {
      latest.push((await login(url, { email: members[i % members.length]?.email as string, password: PASSWORD })).refresh_token);
    }
    return new RefreshQueue(latest);
  }

  readonly request = (request: autocannon.Request, context: object) => {
    const refreshToken = this.latest.shift();
    (context as RequestState).refreshToken = refreshToken;
    return { ...request, method: 'POST' as const, path: `${API}/auth/refresh`, headers: jsonHeaders(), body: JSON.stringify({ refresh_token: refreshToken }) };
  };

  readonly keepRotated = (status: number, body: string, context: object) => {
    const state = context as RequestState;
    if (status === 200) this.latest.push((JSON.parse(body) as Tokens).refresh_token);
    else if (state.refreshToken) this.latest.push(state.refreshToken);
  };
}
