export { stateStoreConformance, type ConformanceHarness, type ConformanceOptions } from './suite.js';
export { makeTempDir, removeTempDir } from './temp.js';
export { mountSmallTmpfs, unmountTmpfs } from './tmpfs.js';
export { fileDigests } from './tree.js';
