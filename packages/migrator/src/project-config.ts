// The project's deploystate.config.json as core reads it, under the migrator's subpath that the CLI
// loads alone on every command and deploy scripts may import: one reading for every reader.
export {
  parseConfigText,
  PROJECT_CONFIG_ENTRY_KEYS,
  PROJECT_CONFIG_FILE,
  PROJECT_CONFIG_KEYS,
  projectRegistry,
  readProjectConfig,
  type ProjectConfig,
} from '@deploystate/core';
