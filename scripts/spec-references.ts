/** Local `$ref`s of the spec (`#/components/...`), as the generators and the fuzzer follow them. */

/** The node a local JSON pointer names (RFC 6901 escapes `~1` and `~0` undone), or undefined. */
export function resolvePointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

/** Follows `$ref`s (a schema's, a parameter's) into the document; siblings of a `$ref` override the target. */
export function dereference<T extends { $ref?: string }>(node: T, document: unknown): T {
  let current = node;
  for (let hops = 0; current.$ref !== undefined; hops += 1) {
    if (hops > 20) throw new Error(`$ref chain too long at ${current.$ref}`);
    const { $ref, ...siblings } = current;
    const target = resolvePointer(document, $ref) as T | undefined;
    if (!target) throw new Error(`Unresolvable $ref ${$ref}`);
    current = { ...target, ...siblings };
  }
  return current;
}
