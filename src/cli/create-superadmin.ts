import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Container } from '../container.js';
import { organizations, userRoles, users } from '../db/schema.js';
import { SYSTEM_ROLE_IDS } from '../db/system-roles.js';
import { CLI_META, type Command } from './command.js';

interface Options {
  email: string;
  name: string;
  organizationSlug: string;
  passwordFile?: string;
}

function readPassword(options: Options): string {
  const raw = options.passwordFile ? readFileSync(options.passwordFile, 'utf8') : readFileSync(0, 'utf8');
  return raw.replace(/\r?\n$/, '');
}

/** Creates or promotes the super-admin; answers what it did. The flag is never settable through the API. */
async function createSuperadmin(container: Container, options: Options): Promise<string> {
  const { db } = container.database;
  const [existing] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(sql`lower(${users.email}) = lower(${options.email})`, isNull(users.deletedAt)));
  if (existing) {
    await db.transaction(async (tx) => {
      await tx.update(users).set({ isSuperadmin: true, updatedAt: new Date() }).where(eq(users.id, existing.id));
      await container.audit.record(tx, CLI_META, { eventType: 'user.superadmin_granted', status: 'success', resourceType: 'user', resourceId: existing.id });
    });
    // The running instances cache the user's sessions without the flag.
    await container.principals.invalidate({ kind: 'user', id: existing.id });
    return `promoted ${options.email} to platform super-admin`;
  }
  const password = readPassword(options);
  container.passwords.assertAcceptable(password, options.email);
  const passwordHash = await container.passwords.hash(password);
  await db.transaction(async (tx) => {
    await tx.insert(organizations).values({ name: 'Platform', slug: options.organizationSlug, plan: 'enterprise' }).onConflictDoNothing();
    const [organization] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(and(eq(organizations.slug, options.organizationSlug), isNull(organizations.deletedAt)));
    if (!organization) throw new Error(`organization ${options.organizationSlug} could not be found or created`);
    const [user] = await tx
      .insert(users)
      .values({
        organizationId: organization.id,
        email: options.email,
        fullName: options.name,
        passwordHash,
        passwordChangedAt: new Date(),
        isSuperadmin: true,
        isVerified: true,
      })
      .returning({ id: users.id });
    if (!user) throw new Error('user insert returned no row');
    await tx.insert(userRoles).values({ userId: user.id, roleId: SYSTEM_ROLE_IDS.admin });
    await container.audit.record(tx, CLI_META, {
      eventType: 'user.superadmin_granted',
      status: 'success',
      organizationId: organization.id,
      resourceType: 'user',
      resourceId: user.id,
      context: { created: true },
    });
  });
  return `created platform super-admin ${options.email}`;
}

export const createSuperadminCommand: Command = {
  usage: `npm run admin -- create-superadmin --email EMAIL [--password-file FILE] [--name NAME] [--organization-slug SLUG]

  Creates a platform super-admin, or promotes an existing user. A new user's password is read from
  --password-file, or else from standard input. New users join the organization SLUG (default
  "platform", created when missing).`,
  parse(args) {
    const { values } = parseArgs({
      args,
      options: {
        email: { type: 'string' },
        'password-file': { type: 'string' },
        name: { type: 'string', default: 'Platform Admin' },
        'organization-slug': { type: 'string', default: 'platform' },
      },
    });
    if (!values.email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(values.email)) throw new Error('usage');
    const options = { email: values.email, name: values.name, organizationSlug: values['organization-slug'], passwordFile: values['password-file'] };
    return (container) => createSuperadmin(container, options);
  },
};
