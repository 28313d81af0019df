// Loading a configuration: parse (with includes) and validate, then build the runtime model.
import * as path from 'node:path';
import type { Directive } from './ast.js';
import { parseConfig } from './parser.js';
import { ConfigError } from './errors.js';
import { buildConfig } from './build.js';
import type { MainConf } from './model.js';
import './apply-core.js';
import './apply-lua.js';

export interface LoadedConfig {
  main: MainConf;
  declaredVars: Set<string>;
  /** nginx.conf and every included file (watched in development mode) */
  configFiles: string[];
  /** *_by_lua_file paths without variables, resolved against the prefix */
  luaFiles: string[];
  /** some location has lua_code_cache off: development mode, as in OpenResty */
  codeCacheOff: boolean;
}

export function loadConfig(file: string, prefix: string, globals: string | null = null): LoadedConfig {
  const tree = parseConfig(file, { prefix, globals: globals ?? undefined });
  const built = { ...buildConfig(tree, file, prefix), configFiles: [] as string[], luaFiles: [] as string[], codeCacheOff: false };
  collectFiles(tree, prefix, built);
  if (!built.main.http || built.main.http.servers.length === 0) {
    throw new ConfigError('no "http" section with a "server" in the configuration', file, 0, 'semantic');
  }
  return built;
}

function collectFiles(list: Directive[], prefix: string, out: LoadedConfig): void {
  const files = new Set(out.configFiles);
  const walk = (ds: Directive[]) => {
    for (const d of ds) {
      if (d.file !== 'command line') files.add(d.file);
      if (d.name.endsWith('_by_lua_file')) {
        const p = d.args[d.args.length - 1 - (d.name === 'set_by_lua_file' ? d.args.length - 2 : 0)];
        if (p && !p.includes('$')) out.luaFiles.push(path.isAbsolute(p) ? p : path.join(prefix, p));
      }
      if (d.name === 'lua_code_cache' && d.args[0] === 'off') out.codeCacheOff = true;
      if (d.block) walk(d.block);
    }
  };
  walk(list);
  out.configFiles = [...files];
}

export { ConfigError };
