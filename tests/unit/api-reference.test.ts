import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderEndpoints } from '../../scripts/api-reference.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const specText = readFileSync(join(ROOT, 'spec/openapi.yaml'), 'utf8');

/** The index row the generated reference writes for one operation. */
function indexRow(rendered: string, operation: string): string | undefined {
  return rendered.split('\n').find((line) => line.startsWith(`| [\`${operation}\`]`));
}

describe('the generated endpoint reference', () => {
  it('names the permission and the caller from x-permission and x-platform', () => {
    const rendered = renderEndpoints(specText);
    expect(indexRow(rendered, 'POST /teams')).toContain('| bearer | `teams:create` |');
    expect(indexRow(rendered, 'POST /organizations')).toContain('| platform super-admin | `organizations:create` |');
    expect(indexRow(rendered, 'POST /auth/logout')).toContain('| bearer | none (any signed-in user) |');
    expect(indexRow(rendered, 'POST /auth/login')).toContain('| public | none |');
  });

  it('follows a change of x-permission', () => {
    const spec = parse(specText);
    spec.paths['/api/v1/enterprise/teams'].post['x-permission'] = 'teams:update';
    const rendered = renderEndpoints(stringify(spec));
    expect(indexRow(rendered, 'POST /teams')).toContain('| bearer | `teams:update` |');
  });

  it('builds a request example from the schema when the spec gives none', () => {
    const spec = parse(specText);
    delete spec.paths['/api/v1/enterprise/auth/refresh'].post.requestBody.content['application/json'].example;
    const rendered = renderEndpoints(stringify(spec));
    expect(rendered).toContain(`-d '{"refresh_token":"text"}'`);
    expect(renderEndpoints(stringify(spec))).toBe(rendered);
  });
});
