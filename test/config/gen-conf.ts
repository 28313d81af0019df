// Port of /work/shared/compat/run.py's gen_conf() (Test::Nginx's nginx.conf
// template, line for line) and of its prefix setup, for parser tests.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Text = string | { b64: string } | null | undefined;

export interface CompatCase {
  id: string;
  name: string;
  tags?: string[];
  directives?: string[];
  main_config?: Text;
  http_config?: Text;
  config?: Text;
  post_main_config?: Text;
  user_files?: { path: Text; content: Text }[];
  log_level?: string;
  workers?: number;
  master_process?: boolean;
  no_root_location?: boolean;
  worker_connections?: number;
  env_to_nginx?: string[];
  env?: Record<string, string>;
  must_die?: boolean | number;
  logs?: { error_log?: ({ s: string } | { re: string })[] } | null;
}

/** JSON text value -> bytes as a latin1 string (what run.py writes with latin-1). */
export function dec(v: Text): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return Buffer.from(v.b64, 'base64').toString('latin1');
  return Buffer.from(v, 'utf8').toString('latin1');
}

export function substituter(c: CompatCase, prefix: string, port: number): (s: string) => string {
  const map: Record<string, string> = {
    TEST_NGINX_SERVER_PORT: String(port),
    TEST_NGINX_CLIENT_PORT: String(port),
    TEST_NGINX_PORT: String(port),
    TEST_NGINX_HTML_DIR: path.join(prefix, 'html'),
    TEST_NGINX_SERVER_ROOT: prefix,
    TEST_NGINX_MEMCACHED_PORT: '11211',
    TEST_NGINX_REDIS_PORT: '6379',
    TEST_NGINX_RESOLVER: '127.0.0.1',
    TEST_NGINX_SERVER_IP: '127.0.0.1',
    ...(c.env ?? {}),
  };
  let rand = 19900;
  return (s) =>
    s.replace(/\$(TEST_NGINX_[_A-Z0-9]+)/g, (m, k: string) => {
      if (k in map) return map[k];
      if (k.startsWith('TEST_NGINX_RAND_PORT_')) return (map[k] = String(rand++));
      return m;
    });
}

export function genConf(c: CompatCase, S: (s: string) => string, prefix: string, port: number): string {
  const sec = (k: 'main_config' | 'http_config' | 'config' | 'post_main_config'): string => {
    const v = dec(c[k]);
    return v === null ? '' : S(v);
  };
  const o: string[] = [];
  o.push(`worker_processes  ${c.workers ?? 1};\n`);
  o.push('daemon off;\n');
  o.push(`master_process ${c.master_process ? 'on' : 'off'};\n`);
  o.push(`error_log ${prefix}/logs/error.log ${c.log_level ?? 'debug'};\n`);
  o.push(`pid       ${prefix}/logs/nginx.pid;\n`);
  for (const v of ['MOCKEAGAIN_VERBOSE', 'MOCKEAGAIN', 'MOCKEAGAIN_WRITE_TIMEOUT_PATTERN', 'LD_PRELOAD',
    'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'DYLD_FORCE_FLAT_NAMESPACE']) {
    o.push(`#env ${v};\n`);
  }
  for (const v of c.env_to_nginx ?? []) o.push(`env ${v};\n`);
  o.push('#env LUA_PATH;\n#env LUA_CPATH;\n\n');
  o.push(sec('main_config') + '\n\n');
  o.push('http {\n');
  o.push(`    access_log ${prefix}/logs/access.log;\n`);
  o.push('    #access_log off;\n\n');
  o.push('    default_type text/plain;\n');
  o.push('    keepalive_timeout  68000ms;\n\n');
  o.push(sec('http_config') + '\n');
  o.push('    server {\n');
  o.push(`        listen          ${port};\n`);
  o.push('        #placeholder\n');
  o.push("        server_name     'localhost';\n");
  o.push('        \n');
  o.push('        client_max_body_size 30M;\n');
  o.push('        #client_body_buffer_size 4k;\n\n');
  o.push('        # Begin preamble config...\n\n');
  o.push('        # End preamble config...\n\n');
  o.push('        # Begin test case config...\n');
  o.push(sec('config') + '\n');
  o.push('        # End test case config.\n\n');
  if (!c.no_root_location) {
    o.push('        location / {\n');
    o.push(`            root ${prefix}/html;\n`);
    o.push('            index index.html index.htm;\n');
    o.push('        }\n');
  }
  o.push('    }\n');
  o.push('}\n\n');
  o.push(sec('post_main_config') + '\n\n');
  o.push('#timer_resolution 100ms;\n\n');
  o.push('events {\n');
  o.push('    #accept_mutex off;\n\n');
  o.push(`    worker_connections  ${c.worker_connections ?? 64};\n`);
  o.push('}\n');
  o.push('#env ASAN_OPTIONS;\n#env MOCKNOEAGAIN_VERBOSE;\n#env MOCKNOEAGAIN;\n');
  return o.join('');
}

/** Creates prefix/{conf,logs,html} with the case's user files; returns conf/nginx.conf. */
export function writePrefix(c: CompatCase, prefix: string, port = 1984): string {
  for (const d of ['conf', 'logs', 'html']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  const S = substituter(c, prefix, port);
  for (const uf of c.user_files ?? []) {
    let p = S(dec(uf.path) ?? '');
    if (!p.startsWith('/')) p = path.join(prefix, 'html', p);
    // paths are latin1 strings holding the file name's bytes
    fs.mkdirSync(Buffer.from(path.dirname(p), 'latin1'), { recursive: true });
    fs.writeFileSync(Buffer.from(p, 'latin1'), Buffer.from(S(dec(uf.content) ?? ''), 'latin1'));
  }
  const conf = path.join(prefix, 'conf', 'nginx.conf');
  fs.writeFileSync(conf, Buffer.from(genConf(c, S, prefix, port), 'latin1'));
  return conf;
}

export function loadCases(dir: string): CompatCase[] {
  const out: CompatCase[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cases: CompatCase[] };
    out.push(...j.cases);
  }
  return out;
}
