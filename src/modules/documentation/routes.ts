import type { Container } from '../../container.js';
import { AppError } from '../../core/errors.js';
import type { ApiDocument } from '../../http/openapi.js';
import type { HandlersFor } from '../../http/types.js';
import { buildDocuments, type Documents, servedDocument } from './documents.js';

// The same for every caller and changed only by a deployment. Express answers 304 itself when
// If-None-Match names the ETag set here (res.send's freshness check).
const CACHE_CONTROL = 'public, max-age=300';

export function documentationHandlers({ config, apiDocument }: Container): HandlersFor<'getApiDocs' | 'getOpenApiJson' | 'getOpenApiYaml'> {
  // Built on the first request: most servers (every test's) are never asked, and the page inlines 2 MB of Redoc.
  let documents: Documents<ApiDocument> | undefined;
  const served = (): Documents<ApiDocument> => {
    if (!config.docsEnabled) throw AppError.notFound('documentation_disabled', 'The API documentation is not served here');
    documents ??= buildDocuments(servedDocument(apiDocument, config.publicUrl));
    return documents;
  };
  return {
    async getApiDocs() {
      const { page } = served();
      const headers = { ETag: page.etag, 'Cache-Control': CACHE_CONTROL, 'Content-Security-Policy': page.contentSecurityPolicy };
      return { status: 200, body: page.body, contentType: 'text/html', headers };
    },
    async getOpenApiJson() {
      const { json } = served();
      return { status: 200, body: json.body, headers: { ETag: json.etag, 'Cache-Control': CACHE_CONTROL } };
    },
    async getOpenApiYaml() {
      const { yaml } = served();
      return { status: 200, body: yaml.body, contentType: 'application/yaml', headers: { ETag: yaml.etag, 'Cache-Control': CACHE_CONTROL } };
    },
  };
}
