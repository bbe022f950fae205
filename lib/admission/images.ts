import { UnreadableWorkloadError } from './errors';
import type { GroupVersionKind } from './review';

/**
 * Where the images of a Pod and of every pod template holder are (RELIABILITY.md 36): a Pod's own
 * spec, `spec.template.spec` of Deployment, ReplicaSet, StatefulSet, DaemonSet and Job, and
 * `spec.jobTemplate.spec.template.spec` of CronJob — in each, `containers`, `initContainers` and
 * `ephemeralContainers` (core/v1 PodSpec). A holder is checked at CREATE/UPDATE for early, readable
 * feedback; the Pod it later creates is checked again on its own CREATE, the backstop whatever
 * controller made it.
 */

/** The three container lists of a PodSpec. Ephemeral containers are added to running Pods by `kubectl debug` through the `pods/ephemeralcontainers` subresource. */
export const CONTAINER_SECTIONS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** One of {@link CONTAINER_SECTIONS}. */
export type ContainerSection = (typeof CONTAINER_SECTIONS)[number];

/**
 * The path to the PodSpec per `group/kind` (`/Pod` for the core group). The version is not part of
 * the key: every served version of these kinds keeps the template at the same place, and
 * `matchPolicy: Equivalent` hands us the registered version anyway.
 */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  '/Pod': ['spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
});

/** One image named by an object. */
export interface PodImage {
  /** JSON Pointer (RFC 6901) of the `image` field, e.g. `/spec/template/spec/initContainers/0/image`: the path a JSON Patch replaces. */
  readonly path: string;
  /** The same place as a Kubernetes field path, e.g. `spec.template.spec.initContainers[0].image` (metav1.StatusCause `field`). */
  readonly field: string;
  readonly section: ContainerSection;
  readonly index: number;
  /** The container's `name`, when it has one. */
  readonly container?: string;
  /** The image reference as written in the object. */
  readonly image: string;
}

/** The PodSpec path of a kind, or undefined when the kind holds no pod template we check. */
export function podSpecPath(kind: GroupVersionKind): readonly string[] | undefined {
  return POD_SPEC_PATHS[`${kind.group}/${kind.kind}`];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 6901 §3: `~` → `~0`, `/` → `~1`. */
function pointerToken(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Every image of `object` (a kind from {@link POD_SPEC_PATHS}), in section order (init, regular,
 * ephemeral) and list order. Returns undefined for a kind that holds no pod template. Throws
 * {@link UnreadableWorkloadError} when the object is not what its kind promises — no spec, a section
 * that is not a list, a container without an image string — so that the caller denies instead of
 * admitting what it could not read.
 */
export function extractImages(kind: GroupVersionKind, object: unknown): PodImage[] | undefined {
  const specPath = podSpecPath(kind);
  if (!specPath) return undefined;
  let node: unknown = object;
  const walked: string[] = [];
  for (const key of specPath) {
    if (!isObject(node)) throw new UnreadableWorkloadError(`cannot read the ${kind.kind}: ${walked.length === 0 ? 'the object' : `/${walked.join('/')}`} is not an object`);
    node = node[key];
    walked.push(key);
  }
  if (!isObject(node)) throw new UnreadableWorkloadError(`cannot read the ${kind.kind}: /${walked.join('/')} is not an object`);
  const spec = node;
  const base = `/${specPath.map(pointerToken).join('/')}`;
  const fieldBase = specPath.join('.');
  const out: PodImage[] = [];
  for (const section of CONTAINER_SECTIONS) {
    const list = spec[section];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new UnreadableWorkloadError(`cannot read the ${kind.kind}: ${base}/${section} is not a list`);
    for (let i = 0; i < list.length; i++) {
      const c: unknown = list[i];
      const path = `${base}/${section}/${i}/image`;
      if (!isObject(c)) throw new UnreadableWorkloadError(`cannot read the ${kind.kind}: ${base}/${section}/${i} is not an object`);
      if (typeof c.image !== 'string' || c.image.trim().length === 0) throw new UnreadableWorkloadError(`cannot read the ${kind.kind}: ${path} is not an image reference`);
      out.push({
        path,
        field: `${fieldBase}.${section}[${i}].image`,
        section,
        index: i,
        ...(typeof c.name === 'string' ? { container: c.name } : {}),
        image: c.image,
      });
    }
  }
  return out;
}
