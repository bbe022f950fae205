/**
 * Kubernetes admission for the trust pipeline (DESIGN.md "Enforce"): the AdmissionReview decision
 * (pure, ports injected), the webhook configurations, and the HTTPS server. See README.md.
 */
export {
  AdmissionController,
  DEFAULT_ADMISSION_CONFIG,
  resolveAdmissionConfig,
  withTimeout,
  type AdmissionConfig,
  type AdmissionDecision,
  type AdmissionPath,
  type AdmissionPorts,
  type ImageCheck,
  type ImageFailure,
  type ImageFailureKind,
  type JsonPatchOperation,
  type NamespaceMode,
  type ResolvedAdmissionConfig,
  type VerdictLookup,
} from './decide';
export { TtlCache } from './cache';
export { AdmissionSightings, type AdmissionSightingsOptions, type SightingStats } from './sightings';
export { formatDuration, parseDuration } from '../engine/duration';
export { AdmissionConfigError, AdmissionReviewError, InsecureListenError, LookupTimeoutError, UnreadableWorkloadError } from './errors';
export { CONTAINER_SECTIONS, POD_SPEC_PATHS, extractImages, podSpecPath, type ContainerSection, type PodImage } from './images';
export {
  DEFAULT_EXEMPTION_LABEL,
  MUTATE_PATH,
  VALIDATE_PATH,
  caBundleFromPemFile,
  rbacComment,
  renderWebhookManifests,
  webhookConfigurations,
  webhookRules,
  type KubernetesObject,
  type WebhookManifestOptions,
} from './manifests';
export {
  ADMISSION_API_VERSION,
  parseAdmissionReview,
  reviewResponse,
  type AdmissionOperation,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewRequest,
  type AdmissionReviewResponse,
  type AdmissionStatus,
  type GroupVersionKind,
  type StatusCause,
} from './review';
export {
  DEFAULT_MAX_BODY_BYTES,
  createTrustHandler,
  createTrustServer,
  type HandlerResponse,
  type TlsOptions,
  type TrustHandler,
  type TrustHandlerOptions,
  type TrustServerOptions,
} from './server';
export { registryTagResolver, type RegistryTagResolverOptions, type TagResolver } from './tag-resolver';
