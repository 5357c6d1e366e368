import { IMAGE, podman, podmanResult, removeEverything } from './engine.js';

/** Builds the image once from the unmodified Dockerfile; removes all the run made afterwards. */
export default async function buildImage() {
  const started = Date.now();
  await podman(['build', '--pull=never', '--format', 'docker', '--tag', IMAGE, '.']);
  console.log(`built ${IMAGE} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return async () => {
    await removeEverything();
    await podmanResult(['rmi', '--force', IMAGE]);
  };
}
