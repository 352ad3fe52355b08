// deploy/k8s: every manifest validates against the Kubernetes OpenAPI schemas (kubernetes-models),
// the runner is an Indexed Job that never retries a shard, the probes and scrape annotations are
// where Prometheus and the kubelet look, and the scenario and the CLI arguments are ones
// tokenstorm itself accepts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';

const DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));

interface Manifest {
  file: string;
  doc: Record<string, unknown> & { kind: string; apiVersion: string; metadata: { name: string } };
}

const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
      expect(d.errors, file).toEqual([]);
      return { file, doc: d.toJS() as Manifest['doc'] };
    }),
  );

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
};

/** A manifest as plain YAML data: the tests read nested fields by path. */
// biome-ignore lint/suspicious/noExplicitAny: untyped YAML, checked by the schema test above
type Doc = Record<string, any>;

const find = (kind: string, name: string): Doc => {
  const m = manifests.find((x) => x.doc.kind === kind && x.doc.metadata.name === name);
  if (m === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return m.doc as Doc;
};
const container = (d: Doc) => d.spec.template.spec.containers[0];

/** The schema validator's complaint about `doc`, or '' when it conforms. */
function schemaProblems(Model: NonNullable<(typeof MODELS)[string]>, doc: unknown): string {
  try {
    new Model(doc as never).validate();
    return '';
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

describe('deploy/k8s', () => {
  it('every manifest validates against the Kubernetes schemas', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(11);
    for (const { file, doc } of manifests) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Object.keys(MODELS), `${file}: ${doc.apiVersion} ${doc.kind} has no schema here`).toContain(
        `${doc.apiVersion}/${doc.kind}`,
      );
      expect(schemaProblems(Model!, doc), `${file}: ${doc.kind} ${doc.metadata.name}`).toBe('');
      if (doc.kind !== 'Namespace')
        expect((doc.metadata as { namespace?: string }).namespace).toBe('tokenstorm');
    }
  });

  it('the validator rejects a broken manifest (so the check above can fail)', () => {
    const job = structuredClone(find('Job', 'tokenstorm-runner'));
    job.spec.completions = 'three';
    expect(() => new Job(job as never).validate()).toThrow();
  });

  it('the runner is an Indexed Job: one pod per shard, never retried, shard count = completions', () => {
    const job = find('Job', 'tokenstorm-runner');
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      backoffLimitPerIndex: 0,
      parallelism: job.spec.completions,
    });
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    const args: string[] = container(job).args;
    expect(args.slice(0, 2)).toEqual(['run', '/scenario/scenario.yaml']);
    expect(args).toContain(`--shard-count=${job.spec.completions}`);
    expect(args).toContain('--out=/results/shard-$(JOB_COMPLETION_INDEX).json');
    expect(args).toContain('--start-at=$(START_AT)');
    const merge = container(find('Job', 'tokenstorm-merge')).args as string[];
    expect(merge.filter((a) => a.startsWith('/results/shard-'))).toEqual(
      Array.from({ length: job.spec.completions }, (_, i) => `/results/shard-${i}.json`),
    );
  });

  it('the scenario ConfigMap is a valid tokenstorm scenario aimed at the server Service', () => {
    const text: string = find('ConfigMap', 'tokenstorm-scenario').data['scenario.yaml'];
    const raw = parseAllDocuments(text)[0]!.toJS();
    const s = parseScenario(raw, 'deploy/k8s/scenario.yaml', {});
    expect(s.target.url).toBe('http://tokenstorm-server:8080/v1/chat/stream');
  });

  it('the servers are probed on /healthz and /readyz and scraped by Prometheus; replicas share Redis', () => {
    const server = find('Deployment', 'tokenstorm-server');
    const c = container(server);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(server.spec.replicas).toBeGreaterThan(1);
    expect(c.args).toContain('--redis-url=redis://tokenstorm-redis:6379/0');
    for (const name of ['tokenstorm-server', 'tokenstorm-mock']) {
      const d = find('Deployment', name);
      const ann = d.spec.template.metadata.annotations;
      expect(ann['prometheus.io/scrape']).toBe('true');
      const port = Number(ann['prometheus.io/port']);
      expect(container(d).ports.map((p: { containerPort: number }) => p.containerPort)).toContain(port);
      expect(container(d).args.join(' ')).toContain(String(port));
      expect(container(d).livenessProbe.httpGet.path).toBe('/healthz');
      find('Service', name);
    }
  });
});
