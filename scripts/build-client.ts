import { build } from 'esbuild';

/**
 * The typed client (`fm-auth/client`) as plain JavaScript for services that import it: one ES module
 * that leaves its one dependency, openapi-fetch, to the importer's install. It is built apart from
 * the service so the two share no chunks. Its types come from the source (package.json "exports").
 */
export async function buildClient(outdir: string): Promise<void> {
  await build({
    entryPoints: { index: 'src/client/index.ts' },
    outdir,
    bundle: true,
    packages: 'external',
    platform: 'neutral',
    format: 'esm',
    target: 'es2022',
    logLevel: 'warning',
  });
}
