/**
 * Kubernetes manifests checked with no cluster: a kustomization's resources read as kustomize would
 * (the base uses `resources` only), and each object validated against the Kubernetes / KEDA JSON
 * schemas of the `kubernetes-models` and `@kubernetes-models/keda` packages.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [k: string]: any;
};

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** Throws when the object does not match its kind's schema (or its kind has none here). */
export function validateManifest(m: Manifest): void {
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) throw new Error(`no schema for ${m.apiVersion} ${m.kind}`);
  new Model(m).validate();
}

/** Every YAML document of a file (empty ones skipped); throws on a YAML error. */
export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export interface Kustomization {
  resources: string[];
  manifests: Manifest[];
}

/** A kustomize base as `kustomize build` would see it; only plain `resources` files are supported. */
export function loadKustomization(dir: string): Kustomization {
  const k = readManifests(path.join(dir, 'kustomization.yaml'))[0] as any;
  const unsupported = Object.keys(k).filter((key) => !['apiVersion', 'kind', 'resources'].includes(key));
  if (unsupported.length) throw new Error(`kustomization fields not checked here: ${unsupported.join(', ')}`);
  const resources: string[] = k.resources ?? [];
  return { resources, manifests: resources.flatMap((r) => readManifests(path.join(dir, r))) };
}
