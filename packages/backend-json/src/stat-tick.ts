// The racy rule lives in core (the LevelDB store uses it too); this module keeps the JSON store's imports of it.
export { COARSE_RACY_MS, RACY_MS, isRacy, racyUntil, racyUntilMs } from '@deploystate/core';
