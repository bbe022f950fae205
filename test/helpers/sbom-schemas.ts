/**
 * Validation of our SBOMs against the official schemas (issue 14, "Done when": "SPDX 2.3 and CycloneDX
 * 1.5 outputs validate against the official schemas in the test suite"), for any test that makes one:
 *
 * - {@link validateSpdx23}: the SPDX 2.3 JSON schema as spdx/spdx-spec published it
 *   (test/fixtures/schemas/spdx-2.3.schema.json, unedited; see the README beside it), checked with
 *   ajv, plus the rules of the SPDX 2.3 text that schema does not encode (identifiers, dates,
 *   checksums, references between elements).
 * - {@link validateCycloneDx15}: CycloneDX's own validator (@cyclonedx/cyclonedx-library's
 *   `JsonStrictValidator` for 1.5, which ships the official bom-1.5, spdx and jsf schemas), plus the
 *   rules of the 1.5 text no JSON schema can check (unique bom-refs, references that resolve, purls
 *   that parse) and the two constraints of the published schema the library's copy leaves out.
 *
 * Both return a list of problems, empty when the document is valid, each naming the rule it breaks
 * and where: `expect(await validateCycloneDx15(bom)).toEqual([])` prints them all when it fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';

/** The official SPDX 2.3 JSON schema, as published (see test/fixtures/schemas/README.md). */
export const SPDX_23_SCHEMA_FILE = join(__dirname, '..', 'fixtures', 'schemas', 'spdx-2.3.schema.json');

let spdxValidator: ValidateFunction | undefined;

/**
 * The official schema compiled once. ajv's default (draft-07) mode is the schema's own `$schema`;
 * strict mode stays on — the schema compiles under it unchanged — and `allErrors` reports every
 * problem, not just the first. No format is asserted: the 2.3 schema uses none.
 */
function spdx23(): ValidateFunction {
  if (!spdxValidator) {
    const schema = JSON.parse(readFileSync(SPDX_23_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
    if (schema.$id !== 'http://spdx.org/rdf/terms/2.3' || schema.$schema !== 'http://json-schema.org/draft-07/schema#') throw new Error(`${SPDX_23_SCHEMA_FILE} is not the SPDX 2.3 draft-07 schema`);
    spdxValidator = new Ajv({ strict: true, allErrors: true }).compile(schema);
  }
  return spdxValidator;
}

/** `schema: /packages/3/primaryPackagePurpose must be equal to one of the allowed values {"allowedValues":[…]} (got "OPERATING-SYSTEM")`. */
function describeAjvError(doc: unknown, e: ErrorObject): string {
  let got: unknown = doc;
  for (const part of e.instancePath.split('/').slice(1)) got = (got as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  const shown = got === undefined || typeof got === 'object' ? '' : ` (got ${JSON.stringify(got)})`;
  return `schema: ${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}${shown}`;
}

// SPDX 2.3 text rules (https://spdx.github.io/spdx-spec/v2.3/), as regular expressions.
/** §3.2 / §7.2: `SPDXRef-` followed by letters, digits, `.` and `-` only. */
const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;
/** §11.1: an element of this document, or of an external one (`DocumentRef-<idstring>:SPDXRef-…`). */
const EXTERNAL_ID = /^(DocumentRef-[A-Za-z0-9.-]+):SPDXRef-[A-Za-z0-9.-]+$/;
/** §6.9 / §12.3: `YYYY-MM-DDThh:mm:ssZ`. */
const SPDX_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;
/** §6.8 / §12.2: `Person: …`, `Organization: …` or `Tool: …`. */
const AGENT = /^(Person|Organization|Tool): \S.*$/;
/** §7.10: hex digits per checksum algorithm (lower case: "a lower case hexadecimal encoded digest"). */
const CHECKSUM_HEX: Record<string, number> = { SHA1: 40, SHA224: 56, SHA256: 64, SHA384: 96, SHA512: 128, MD5: 32, 'SHA3-256': 64, 'SHA3-384': 96, 'SHA3-512': 128 };

interface SpdxLike {
  spdxVersion?: unknown; dataLicense?: unknown; SPDXID?: unknown; documentNamespace?: unknown; documentDescribes?: unknown;
  creationInfo?: { created?: unknown; creators?: unknown };
  externalDocumentRefs?: { externalDocumentId?: unknown }[];
  packages?: SpdxElementLike[]; files?: SpdxElementLike[]; snippets?: SpdxElementLike[];
  annotations?: AnnotationLike[];
  relationships?: { spdxElementId?: unknown; relatedSpdxElement?: unknown; relationshipType?: unknown }[];
}
interface AnnotationLike { annotationDate?: unknown; annotator?: unknown }
interface SpdxElementLike {
  SPDXID?: unknown; name?: unknown; filesAnalyzed?: unknown; packageVerificationCode?: unknown;
  checksums?: { algorithm?: unknown; checksumValue?: unknown }[];
  externalRefs?: { referenceCategory?: unknown; referenceType?: unknown; referenceLocator?: unknown }[];
  annotations?: AnnotationLike[];
}

/** The rules of the SPDX 2.3 text the 2.3 JSON schema leaves out, as `spec §n: …` problems. */
function spdx23TextProblems(doc: SpdxLike): string[] {
  const out: string[] = [];
  if (doc.spdxVersion !== 'SPDX-2.3') out.push(`spec §6.1: spdxVersion must be "SPDX-2.3" (got ${JSON.stringify(doc.spdxVersion)})`);
  if (doc.dataLicense !== 'CC0-1.0') out.push(`spec §6.2: dataLicense must be "CC0-1.0" (got ${JSON.stringify(doc.dataLicense)})`);
  if (doc.SPDXID !== 'SPDXRef-DOCUMENT') out.push(`spec §6.3: the document's SPDXID must be "SPDXRef-DOCUMENT" (got ${JSON.stringify(doc.SPDXID)})`);
  const ns = doc.documentNamespace;
  if (typeof ns !== 'string' || !URL.canParse(ns) || ns.includes('#')) out.push(`spec §6.5: documentNamespace must be an absolute URI without "#" (got ${JSON.stringify(ns)})`);
  const created = doc.creationInfo?.created;
  if (typeof created !== 'string' || !SPDX_DATE.test(created)) out.push(`spec §6.9: creationInfo.created must be YYYY-MM-DDThh:mm:ssZ (got ${JSON.stringify(created)})`);
  const creators = doc.creationInfo?.creators;
  for (const [i, c] of (Array.isArray(creators) ? creators : []).entries()) if (typeof c !== 'string' || !AGENT.test(c)) out.push(`spec §6.8: creationInfo.creators[${i}] must be "Person: …", "Organization: …" or "Tool: …" (got ${JSON.stringify(c)})`);

  const annotations = (where: string, list: AnnotationLike[] | undefined) => {
    for (const [i, a] of (list ?? []).entries()) {
      if (typeof a.annotationDate !== 'string' || !SPDX_DATE.test(a.annotationDate)) out.push(`spec §12.3: ${where}annotations[${i}].annotationDate must be YYYY-MM-DDThh:mm:ssZ (got ${JSON.stringify(a.annotationDate)})`);
      if (typeof a.annotator !== 'string' || !AGENT.test(a.annotator)) out.push(`spec §12.2: ${where}annotations[${i}].annotator must be "Person: …", "Organization: …" or "Tool: …" (got ${JSON.stringify(a.annotator)})`);
    }
  };
  annotations('', doc.annotations);

  // Every element's identifier: well formed and unique within the document (§3.2, §7.2, §8.2, §9.1).
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  const elements: [string, SpdxElementLike][] = [
    ...(doc.packages ?? []).map((p, i): [string, SpdxElementLike] => [`packages[${i}]`, p]),
    ...(doc.files ?? []).map((f, i): [string, SpdxElementLike] => [`files[${i}]`, f]),
    ...(doc.snippets ?? []).map((s, i): [string, SpdxElementLike] => [`snippets[${i}]`, s]),
  ];
  for (const [where, e] of elements) {
    const id = e.SPDXID;
    if (typeof id !== 'string' || !SPDX_ID.test(id)) out.push(`spec §7.2: ${where}.SPDXID must be SPDXRef- and letters, digits, "." or "-" (got ${JSON.stringify(id)})`);
    else if (ids.has(id)) out.push(`spec §3.2: ${where}.SPDXID ${JSON.stringify(id)} is not unique in the document`);
    else ids.add(id);
    annotations(`${where}.`, e.annotations);
  }
  for (const [i, p] of (doc.packages ?? []).entries()) {
    if (typeof p.name !== 'string' || p.name === '') out.push(`spec §7.1: packages[${i}].name must not be empty`);
    // 2.3 made filesAnalyzed optional, default true, and a verification code mandatory when it is true.
    if (p.filesAnalyzed !== false && p.packageVerificationCode === undefined) out.push(`spec §7.9: packages[${i}] analysed files (filesAnalyzed ${JSON.stringify(p.filesAnalyzed ?? 'omitted = true')}) but has no packageVerificationCode`);
    for (const [j, c] of (p.checksums ?? []).entries()) {
      const len = CHECKSUM_HEX[String(c.algorithm)];
      const value = String(c.checksumValue);
      if (!/^[0-9a-f]+$/.test(value) || (len !== undefined && value.length !== len)) out.push(`spec §7.10: packages[${i}].checksums[${j}] must be ${len ?? 'some'} lower-case hex digits for ${String(c.algorithm)} (got ${JSON.stringify(c.checksumValue)})`);
    }
    for (const [j, r] of (p.externalRefs ?? []).entries()) {
      const locator = r.referenceLocator;
      if (typeof locator !== 'string' || locator === '' || /\s/.test(locator)) out.push(`spec §7.21: packages[${i}].externalRefs[${j}].referenceLocator must be a string without spaces (got ${JSON.stringify(locator)})`);
      else if (r.referenceType === 'purl') {
        // Annex F: category PACKAGE-MANAGER, locator a valid purl.
        if (r.referenceCategory !== 'PACKAGE-MANAGER') out.push(`spec Annex F: packages[${i}].externalRefs[${j}] of type purl must have category PACKAGE-MANAGER (got ${JSON.stringify(r.referenceCategory)})`);
        try {
          PackageURL.fromString(locator);
        } catch (err) {
          out.push(`spec Annex F: packages[${i}].externalRefs[${j}].referenceLocator is no valid purl: ${(err as Error).message} (got ${JSON.stringify(locator)})`);
        }
      }
    }
  }

  // §11.1: relationships join elements of this document (or of a declared external document).
  const externals = new Set((doc.externalDocumentRefs ?? []).map((r) => r.externalDocumentId));
  const known = (id: unknown): boolean => typeof id === 'string' && (ids.has(id) || (EXTERNAL_ID.test(id) && externals.has(id.slice(0, id.indexOf(':')))));
  for (const [i, r] of (doc.relationships ?? []).entries()) {
    if (!known(r.spdxElementId)) out.push(`spec §11.1: relationships[${i}].spdxElementId ${JSON.stringify(r.spdxElementId)} is no element of the document`);
    if (r.relatedSpdxElement !== 'NONE' && r.relatedSpdxElement !== 'NOASSERTION' && !known(r.relatedSpdxElement)) out.push(`spec §11.1: relationships[${i}].relatedSpdxElement ${JSON.stringify(r.relatedSpdxElement)} is no element of the document`);
  }
  // §6.1 / §11.1: a document describes at least one element (a DESCRIBES relationship or documentDescribes).
  const describes = (doc.relationships ?? []).some((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES') || (Array.isArray(doc.documentDescribes) && doc.documentDescribes.length > 0);
  if (!describes) out.push('spec §11.1: the document DESCRIBES no element');
  return out;
}

/**
 * Problems of an SPDX JSON document against the official SPDX 2.3 schema (`schema: …`) and the
 * rules of the 2.3 text the schema does not encode (`spec §n: …`); empty when valid.
 */
export function validateSpdx23(doc: unknown): string[] {
  const validate = spdx23();
  const schema = validate(doc) ? [] : (validate.errors ?? []).map((e) => describeAjvError(doc, e));
  const text = doc !== null && typeof doc === 'object' ? spdx23TextProblems(doc as SpdxLike) : [];
  return [...schema, ...text];
}

let cdxValidator: Validation.JsonStrictValidator | undefined;

interface CdxComponentLike { 'bom-ref'?: unknown; purl?: unknown; components?: CdxComponentLike[] }
interface CdxLike {
  $schema?: unknown;
  version?: unknown;
  metadata?: { component?: CdxComponentLike };
  components?: CdxComponentLike[];
  services?: { 'bom-ref'?: unknown; services?: unknown[] }[];
  dependencies?: { ref?: unknown; dependsOn?: unknown[] }[];
  vulnerabilities?: { 'bom-ref'?: unknown; affects?: { ref?: unknown }[] }[];
}

/** The rules of the CycloneDX 1.5 text (https://cyclonedx.org/docs/1.5/json/) no JSON schema checks, as `spec: …` problems. */
function cyclonedx15TextProblems(bom: CdxLike): string[] {
  const out: string[] = [];
  // Two constraints of the published bom-1.5.schema.json that the library's copy leaves out (its
  // res/schema/README.md, changes 4 and 5): `version` is required, and `$schema` names this schema.
  if (!(Number.isInteger(bom.version) && (bom.version as number) >= 1)) out.push(`schema (official, not in the library's copy): version is required, an integer ≥ 1 (got ${JSON.stringify(bom.version)})`);
  if (bom.$schema !== undefined && bom.$schema !== 'http://cyclonedx.org/schema/bom-1.5.schema.json') out.push(`schema (official, not in the library's copy): $schema must be "http://cyclonedx.org/schema/bom-1.5.schema.json" (got ${JSON.stringify(bom.$schema)})`);
  const refs = new Map<string, string>();
  const addRef = (where: string, ref: unknown) => {
    if (ref === undefined) return;
    if (typeof ref !== 'string') return; // the schema reports the type
    const first = refs.get(ref);
    if (first !== undefined) out.push(`spec: bom-ref ${JSON.stringify(ref)} of ${where} is not unique (also ${first}): "every bom-ref must be unique within the BOM"`);
    else refs.set(ref, where);
  };
  const walk = (where: string, c: CdxComponentLike) => {
    addRef(where, c['bom-ref']);
    if (c.purl !== undefined) {
      try {
        PackageURL.fromString(String(c.purl));
      } catch (err) {
        out.push(`spec: ${where}.purl is no valid purl: ${(err as Error).message} (got ${JSON.stringify(c.purl)})`);
      }
    }
    for (const [i, sub] of (c.components ?? []).entries()) walk(`${where}.components[${i}]`, sub);
  };
  if (bom.metadata?.component) walk('metadata.component', bom.metadata.component);
  for (const [i, c] of (bom.components ?? []).entries()) walk(`components[${i}]`, c);
  for (const [i, s] of (bom.services ?? []).entries()) addRef(`services[${i}]`, s['bom-ref']);
  for (const [i, v] of (bom.vulnerabilities ?? []).entries()) addRef(`vulnerabilities[${i}]`, v['bom-ref']);
  const resolves = (ref: unknown) => typeof ref === 'string' && refs.has(ref);
  const seenDependency = new Set<unknown>();
  for (const [i, d] of (bom.dependencies ?? []).entries()) {
    if (!resolves(d.ref)) out.push(`spec: dependencies[${i}].ref ${JSON.stringify(d.ref)} is no bom-ref of the BOM`);
    if (seenDependency.has(d.ref)) out.push(`spec: dependencies[${i}].ref ${JSON.stringify(d.ref)} has a second dependencies entry`);
    seenDependency.add(d.ref);
    for (const [j, r] of (d.dependsOn ?? []).entries()) if (!resolves(r)) out.push(`spec: dependencies[${i}].dependsOn[${j}] ${JSON.stringify(r)} is no bom-ref of the BOM`);
  }
  for (const [i, v] of (bom.vulnerabilities ?? []).entries()) {
    for (const [j, a] of (v.affects ?? []).entries()) if (!resolves(a.ref)) out.push(`spec: vulnerabilities[${i}].affects[${j}].ref ${JSON.stringify(a.ref)} is no bom-ref of the BOM`);
  }
  return out;
}

/**
 * Problems of a CycloneDX JSON BOM against the official CycloneDX 1.5 schema, checked by CycloneDX's
 * own validator (`schema: …`; strict: unknown properties are errors), and the rules of the 1.5 text
 * no JSON schema checks (`spec: …`); empty when valid. Async because the library's validator is.
 */
export async function validateCycloneDx15(bom: unknown): Promise<string[]> {
  cdxValidator ??= new Validation.JsonStrictValidator(Spec.Version.v1dot5);
  const errors = (await cdxValidator.validate(JSON.stringify(bom))) as ErrorObject[] | null;
  const schema = (errors ?? []).map((e) => describeAjvError(bom, e));
  const text = bom !== null && typeof bom === 'object' ? cyclonedx15TextProblems(bom as CdxLike) : [];
  return [...schema, ...text];
}
