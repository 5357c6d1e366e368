import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { runCommand } from '../helpers/commands.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = join(ROOT, 'deploy/kubernetes');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: any;
}

/** The kubernetes-models class (its JSON schema, from the Kubernetes OpenAPI) of each kind we ship. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Validates one manifest against its kind's schema; answers the schema's complaint, or null. */
function schemaProblem(manifest: Manifest): string | null {
  const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!model) return `no schema for ${manifest.apiVersion}/${manifest.kind}`;
  try {
    new model(manifest).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const manifestFiles = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .sort();
const manifests = new Map<string, Manifest>(
  manifestFiles.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((document) => {
      expect(document.errors, file).toEqual([]);
      const manifest = document.toJS() as Manifest;
      return [manifest.kind, manifest] as const;
    }),
  ),
);
const get = (kind: string) => {
  const manifest = manifests.get(kind);
  if (!manifest) throw new Error(`deploy/kubernetes has no ${kind}`);
  return manifest;
};
const deployment = get('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const configMap = get('ConfigMap');
const secret = get('Secret');

/** The variables loadConfig reads (each also as NAME_FILE). */
function configVariables(): Set<string> {
  const names = [...read('src/config/index.ts').matchAll(/read\('([A-Z_]+)'\)/g)].map((match) => match[1] as string);
  expect(names.length).toBeGreaterThan(30);
  return new Set(names.flatMap((name) => [name, `${name}_FILE`]));
}

const secretMount = container.volumeMounts.find((mount: any) => pod.volumes.find((volume: any) => volume.name === mount.name)?.secret);
const fileVariables = (container.env as { name: string; value: string }[]).filter((variable) => variable.name.endsWith('_FILE'));

describe('deploy/kubernetes', () => {
  it('holds the kinds of a production deployment', () => {
    expect([...manifests.keys()].sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
  });

  it.each(manifestFiles)('%s is valid against the Kubernetes schema of its kind', (file) => {
    for (const document of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      expect(schemaProblem(document.toJS() as Manifest)).toBeNull();
    }
  });

  it('the schema check refuses broken manifests (so a pass means something)', () => {
    const broken = structuredClone(deployment);
    broken.spec.replicas = 'two';
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(schemaProblem(broken)).toMatch(/replicas must be integer.*containerPort must be integer/s);
    const noSelector = structuredClone(deployment);
    delete noSelector.spec.selector;
    expect(schemaProblem(noSelector)).toMatch(/selector/);
    expect(schemaProblem({ ...get('HorizontalPodAutoscaler'), spec: { ...get('HorizontalPodAutoscaler').spec, maxReplicas: undefined } })).toMatch(/maxReplicas/);
  });

  it('sets no namespace (namespace-agnostic: kubectl apply -n NAMESPACE -k deploy/kubernetes)', () => {
    for (const manifest of manifests.values()) expect(manifest.metadata, manifest.kind).not.toHaveProperty('namespace');
  });

  it('kustomization.yaml lists every manifest except the Secret template, and the image', () => {
    const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { kind: string; resources: string[]; images: { name: string }[] };
    expect(kustomization.kind).toBe('Kustomization');
    expect([...kustomization.resources].sort()).toEqual(manifestFiles.filter((file) => file !== 'secret.yaml'));
    expect(container.image.startsWith(`${kustomization.images[0]?.name}:`)).toBe(true);
  });

  it('names only variables src/config reads, in the ConfigMap and the Deployment', () => {
    const known = configVariables();
    const named = [...Object.keys(configMap.data), ...container.env.map((variable: { name: string }) => variable.name)];
    expect(named.filter((name) => !known.has(name))).toEqual([]);
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
  });

  it('mounts every Secret key as a file that a *_FILE variable names, and no secret as a value', () => {
    expect(pod.volumes.find((volume: any) => volume.name === secretMount.name).secret.secretName).toBe(secret.metadata.name);
    expect(secretMount.readOnly).toBe(true);
    expect(fileVariables.map((variable) => variable.value).sort()).toEqual(
      Object.keys(secret.stringData)
        .map((key) => `${secretMount.mountPath}/${key}`)
        .sort(),
    );
    expect(container.env.filter((variable: any) => variable.valueFrom)).toEqual([]);
    for (const value of Object.values<string>(secret.stringData)) expect(value).toMatch(/CHANGE_ME/);
  });

  it('probes the real health paths on the container port 8000', () => {
    const specPaths = Object.keys((parse(read('spec/openapi.yaml')) as { paths: Record<string, unknown> }).paths);
    expect(specPaths).toEqual(expect.arrayContaining(['/health/live', '/health/ready']));
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.startupProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    const http = container.ports.find((port: any) => port.name === 'http');
    expect(http.containerPort).toBe(8000);
    expect(loadConfig({}).port).toBe(8000);
    expect(read('Dockerfile')).toMatch(/^EXPOSE 8000$/m);
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) expect(probe.httpGet.port).toBe('http');
    const metrics = container.ports.find((port: any) => port.name === 'metrics');
    expect(metrics.containerPort).toBe(Number(configMap.data.MANAGEMENT_PORT));
  });

  it('runs as the image user 65532, read-only, with no capabilities and the runtime seccomp profile', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
    const tmp = container.volumeMounts.find((mount: any) => mount.mountPath === '/tmp');
    expect(pod.volumes.find((volume: any) => volume.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('sizes the pod from the measurements and outlasts the shutdown drain', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.resources.requests).toEqual({ cpu: '500m', memory: '256Mi' });
    expect(container.resources.limits).toEqual({ cpu: '2', memory: '512Mi' });
    const drainSeconds = Number(configMap.data.SHUTDOWN_TIMEOUT_MS) / 1000 + Number(container.lifecycle.preStop.sleep.seconds);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);
  });

  it('points the Service, the autoscaler and the disruption budget at the Deployment', () => {
    const labels = deployment.spec.template.metadata.labels;
    const service = get('Service');
    expect(labels).toMatchObject(service.spec.selector);
    expect(labels).toMatchObject(get('PodDisruptionBudget').spec.selector.matchLabels);
    expect(deployment.spec.selector.matchLabels).toEqual(get('PodDisruptionBudget').spec.selector.matchLabels);
    const containerPorts = container.ports.map((port: any) => port.name);
    for (const port of service.spec.ports) expect(containerPorts).toContain(port.targetPort);
    const hpa = get('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    expect(get('PodDisruptionBudget').spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  describe('as the service reads it', () => {
    let secrets: string;
    beforeAll(async () => {
      secrets = mkdtempSync(join(tmpdir(), 'fm-auth-k8s-'));
      const generated = await runCommand('bash', ['scripts/generate_secrets.sh', '--dir', join(secrets, 'fm-auth')]);
      expect(generated.status, generated.stderr).toBe(0);
    });
    afterAll(() => rmSync(secrets, { recursive: true, force: true }));

    /** The pod's environment, with the secret files taken from a generated set. */
    function podEnvironment(data: Record<string, string>): Record<string, string> {
      const files = Object.fromEntries(fileVariables.map((variable) => [variable.name, variable.value.replace(secretMount.mountPath, join(secrets, 'fm-auth'))]));
      return { ...data, ...files };
    }

    it('refuses to start until the CHANGE_ME placeholders are replaced', () => {
      expect(() => loadConfig(podEnvironment(configMap.data))).toThrow(/PUBLIC_URL still holds the CHANGE_ME placeholder/);
    });

    it('is a valid production configuration once they are', () => {
      const filledIn = Object.fromEntries(Object.entries(configMap.data as Record<string, string>).map(([name, value]) => [name, value.replace('CHANGE_ME', 'auth')]));
      const config = loadConfig(podEnvironment(filledIn));
      expect(config.environment).toBe('production');
      expect(config.management).toEqual({ port: 9000, host: '0.0.0.0' });
      expect(config.metricsToken).not.toBeNull();
      expect(config.saml.signing).not.toBeNull();
      expect(config.trustProxy).toBe(1);
    });
  });
});
