/** A malformed rpm database or header: caught by the cataloger and recorded as an unknown. */
export class RpmFormatError extends Error {
  override readonly name = 'RpmFormatError';
}

export function fail(msg: string): never {
  throw new RpmFormatError(msg);
}
