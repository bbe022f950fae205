import { Composer, CST, isMap, isScalar, Lexer, Parser, type Document, type Node } from 'yaml';
import { checkTextSize, PARSE_BOUNDS, parseBoundError } from './bounds';

/**
 * YAML for lockfiles (pnpm-lock.yaml, yarn berry's yarn.lock), parsed within {@link PARSE_BOUNDS}.
 * The `yaml` package alone is not: 5 M empty documents (`---\n`, 20 MB, 20 KB gzipped) exhaust the
 * heap, its duplicate-key check is quadratic (80 k keys in one mapping ≈ 90 s), and a deep block
 * nesting overflows its composer's stack. So:
 * 1. a first pass with the lexer alone (no tree, constant memory) counts tokens, document starts and
 *    flow nesting, and refuses the file before anything is built;
 * 2. the parser builds the concrete syntax tree one document at a time; each document's nesting is
 *    measured iteratively before the composer (recursive) sees it; only the document asked for is
 *    kept;
 * 3. duplicate keys are found in linear time (YAML 1.2.2 §3.2.1.1: keys are unique) and aliases are
 *    resolved under `maxAliasCount` ("billion laughs").
 */

/** Which document of a multi-document stream to return: the last one, or the only one (more is an error). */
export type YamlDocumentChoice = 'last' | 'single';

/** Collection tokens of the concrete syntax tree, the ones that nest. */
function isCollectionToken(t: CST.Token): t is CST.BlockMap | CST.BlockSequence | CST.FlowCollection {
  return t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection';
}

/** Refuses a document nested deeper than {@link PARSE_BOUNDS.maxNestingDepth}, walking its CST with an explicit stack. */
function checkCstDepth(doc: CST.Document, what: string): void {
  const max = PARSE_BOUNDS.maxNestingDepth;
  const stack: [CST.Token, number][] = doc.value ? [[doc.value, 0]] : [];
  while (stack.length > 0) {
    const [t, above] = stack.pop()!;
    if (!isCollectionToken(t)) continue;
    const depth = above + 1;
    if (depth > max) throw parseBoundError('maxNestingDepth', `${what}: YAML nested deeper than ${max} levels`);
    for (const item of t.items) {
      if (item.key) stack.push([item.key, depth]);
      if (item.value) stack.push([item.value, depth]);
    }
  }
}

/** Refuses a mapping with two equal scalar keys, in time linear in the document (the `yaml` package's own check is quadratic). */
function checkUniqueKeys(doc: Document.Parsed, what: string): void {
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop() as Node | null | undefined;
    if (!n || typeof n !== 'object' || !('items' in n) || !Array.isArray(n.items)) continue;
    const seen = isMap(n) ? new Set<string>() : undefined;
    for (const item of n.items as unknown[]) {
      if (item && typeof item === 'object' && 'key' in item) {
        const { key, value } = item as { key: unknown; value: unknown };
        if (seen && isScalar(key)) {
          // As `toJS` makes them object keys: `1` and `'1'` collide there, so they collide here.
          const k = String(key.value);
          if (seen.has(k)) throw new Error(`${what}: duplicate mapping key ${JSON.stringify(String(key.value)).slice(0, 200)}`);
          seen.add(k);
        }
        stack.push(key, value);
      } else {
        stack.push(item);
      }
    }
  }
}

/**
 * Parses YAML text to plain JavaScript within {@link PARSE_BOUNDS}: throws a `LimitExceededError`
 * when a bound is hit (→ unknown `cut-by-cap`) and an `Error` for malformed YAML (→ `parse-error`).
 * `what` names the file in messages.
 */
export function parseYamlBounded(text: string, what: string, choice: YamlDocumentChoice): unknown {
  checkTextSize(text.length, what);
  const maxTokens = PARSE_BOUNDS.maxYamlTokens;
  const maxDocs = PARSE_BOUNDS.maxYamlDocuments;
  const maxDepth = PARSE_BOUNDS.maxNestingDepth;
  let tokens = 0;
  let docStarts = 0;
  let flow = 0;
  for (const lexeme of new Lexer().lex(text)) {
    if (++tokens > maxTokens) throw parseBoundError('maxYamlTokens', `${what}: more than ${maxTokens} YAML tokens`);
    if (lexeme === '---' && ++docStarts > maxDocs) throw parseBoundError('maxYamlDocuments', `${what}: more than ${maxDocs} YAML documents`);
    if (lexeme === '[' || lexeme === '{') {
      if (++flow > maxDepth) throw parseBoundError('maxNestingDepth', `${what}: YAML nested deeper than ${maxDepth} levels`);
    } else if (lexeme === ']' || lexeme === '}') {
      flow = Math.max(0, flow - 1);
    } else if (lexeme === CST.DOCUMENT) {
      flow = 0;
    }
  }
  // uniqueKeys: false — checked by checkUniqueKeys in linear time instead.
  const composer = new Composer({ uniqueKeys: false });
  let docs = 0;
  let chosen: Document.Parsed | undefined;
  const take = (d: Document.Parsed): void => {
    docs++;
    if (docs > maxDocs) throw parseBoundError('maxYamlDocuments', `${what}: more than ${maxDocs} YAML documents`);
    if (choice === 'single' && docs > 1) throw new Error(`${what}: more than one YAML document`);
    chosen = d;
  };
  for (const token of new Parser().parse(text)) {
    if (token.type === 'document') checkCstDepth(token, what);
    for (const d of composer.next(token)) take(d);
  }
  for (const d of composer.end()) take(d);
  if (!chosen) throw new Error(`${what}: no YAML document`);
  if (chosen.errors.length > 0) throw new Error(`${what}: ${chosen.errors[0]!.message}`);
  checkUniqueKeys(chosen, what);
  try {
    return chosen.toJS({ maxAliasCount: PARSE_BOUNDS.maxYamlAliases }) as unknown;
  } catch (e) {
    // The `yaml` package throws a ReferenceError "Excessive alias count indicates a resource exhaustion attack".
    if (e instanceof ReferenceError && /alias count/i.test(e.message)) {
      throw parseBoundError('maxYamlAliases', `${what}: YAML aliases expand past ${PARSE_BOUNDS.maxYamlAliases} (alias bomb)`);
    }
    throw e;
  }
}
