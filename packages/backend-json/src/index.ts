export { SCHEMA_VERSION, SCHEMA_URL, deploymentFileSchema, toSchemaForm, validateStateFile, stateFileVersion } from './schema.js';
