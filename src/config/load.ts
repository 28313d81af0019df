// Loading a configuration: parse (with includes) and validate, then build the runtime model.
import { parseConfig } from './parser.js';
import { ConfigError } from './errors.js';
import { buildConfig } from './build.js';
import type { MainConf } from './model.js';
import './apply-core.js';
import './apply-lua.js';

export interface LoadedConfig {
  main: MainConf;
  declaredVars: Set<string>;
}

export function loadConfig(file: string, prefix: string, globals: string | null = null): LoadedConfig {
  const tree = parseConfig(file, { prefix, globals: globals ?? undefined });
  const built = buildConfig(tree, file, prefix);
  if (!built.main.http || built.main.http.servers.length === 0) {
    throw new ConfigError('no "http" section with a "server" in the configuration', file, 0, 'semantic');
  }
  return built;
}

export { ConfigError };
