// A usage error with the same name cac gives its own, so both map to exit code 2.
export class CACError extends Error {
  override readonly name = 'CACError';
}
