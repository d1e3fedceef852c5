export { stateStoreConformance, type ConformanceHarness, type ConformanceOptions } from './suite.js';
export { makeTempDir, removeTempDir } from './temp.js';
export { fileDigests } from './tree.js';
