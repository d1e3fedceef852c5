// The StateError `fn` throws, for tests that look at its code and fields; any other outcome fails the test.
import { StateError } from '../src/errors.js';

export function thrown(fn: () => unknown): StateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StateError) return error;
    throw error;
  }
  throw new Error('expected a StateError');
}
