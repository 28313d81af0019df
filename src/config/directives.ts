/**
 * The directive table: every directive tsresty accepts, with nginx's
 * contexts and argument rules (the ngx_command_t.type bits), as data.
 *
 * Contexts: main (top level), events, http (NGX_HTTP_MAIN_CONF), srv, loc,
 * sif / lif (`if` in server / location), lmt (limit_except), ups (upstream).
 * Arguments use nginx's flag names: NOARGS, TAKE1..TAKE7 (combinable, e.g.
 * TAKE12), FLAG, 1MORE, 2MORE, ANY; BLOCK marks `name ... { }` directives.
 * A name may have several entries (e.g. `server` in http and in upstream);
 * like nginx, the first entry allowed in the current context is used.
 *
 * `slot` mirrors nginx's ngx_conf_set_*_slot handlers: the value check and
 * the "is duplicate" check they perform within one configuration block.
 * `status` starts as 'accepted' everywhere; the runtime flips entries to
 * 'implemented' (markImplemented) as it implements them.
 */

export type Context = 'main' | 'events' | 'http' | 'srv' | 'loc' | 'sif' | 'lif' | 'lmt' | 'ups';

export type Slot =
  | 'flag' // on|off (case-insensitive)
  | 'num' // ngx_atoi
  | 'size' // ngx_parse_size
  | 'off' // ngx_parse_offset
  | 'msec' // ngx_parse_time(.., 0)
  | 'sec' // ngx_parse_time(.., 1)
  | 'enum' // one of `values` (case-insensitive); nginx reports bad ones at [warn]
  | 'bufs' // "number size"
  | 'once'; // no value check, only "is duplicate"

/** Extra handler-level checks implemented in validate.ts. */
export type Check =
  | 'lua_code' // "invalid location config: no runnable Lua code"
  | 'lua_shared_dict'
  | 'set_var' // `set $name value`
  | 'root_alias'
  | 'ups_keepalive'
  | 'base32_alphabet'
  | 'location'
  | 'upstream';

export interface ArgRule {
  any?: boolean;
  flag?: boolean;
  /** 1MORE = 1, 2MORE = 2 */
  min?: number;
  /** allowed argument counts for TAKEn / NOARGS */
  counts?: number[];
}

export interface DirectiveSpec {
  name: string;
  module: string;
  contexts: ReadonlySet<Context> | 'any';
  args: ArgRule;
  block: boolean;
  slot?: Slot;
  values?: string[];
  /** Directives sharing a key share one "is duplicate" state (e.g. the content_by_lua* family). */
  dupKey?: string;
  check?: Check;
  status: 'implemented' | 'accepted';
}

interface Opts {
  slot?: Slot;
  values?: string[];
  dup?: string;
  check?: Check;
}

function parseArgs(spec: string): { args: ArgRule; block: boolean } {
  const args: ArgRule = {};
  let block = false;
  for (const part of spec.split('|')) {
    if (part === 'BLOCK') block = true;
    else if (part === 'ANY') args.any = true;
    else if (part === 'FLAG') args.flag = true;
    else if (part === '1MORE') args.min = 1;
    else if (part === '2MORE') args.min = 2;
    else if (part === 'NOARGS') (args.counts ??= []).push(0);
    else if (part.startsWith('TAKE')) {
      for (const c of part.slice(4)) (args.counts ??= []).push(Number(c));
    } else throw new Error(`bad arg spec ${spec}`);
  }
  return { args, block };
}

const table: DirectiveSpec[] = [];
let currentModule = '';

function mod(name: string): void {
  currentModule = name;
}

function def(name: string, ctx: string, argSpec: string, o: Opts = {}): void {
  const { args, block } = parseArgs(argSpec);
  table.push({
    name,
    module: currentModule,
    contexts: ctx === 'any' ? 'any' : new Set(ctx.split(' ') as Context[]),
    args,
    block,
    slot: o.slot,
    values: o.values,
    dupKey: o.dup,
    check: o.check,
    status: 'accepted',
  });
}

// context shorthands
const HSL = 'http srv loc';
const HSLI = 'http srv loc lif';
const SSLL = 'srv sif loc lif';
const ALL_HTTP = 'http srv sif loc lif';

const flag: Opts = { slot: 'flag' };
const num: Opts = { slot: 'num' };
const size: Opts = { slot: 'size' };
const msec: Opts = { slot: 'msec' };
const once: Opts = { slot: 'once' };
const bufs: Opts = { slot: 'bufs' };
const enumOf = (...values: string[]): Opts => ({ slot: 'enum', values });

// ---- core (ngx_core_module, ngx_conf_module, ngx_events_module) ------------------------------
mod('core');
def('include', 'any', 'TAKE1');
def('daemon', 'main', 'FLAG', flag);
def('master_process', 'main', 'FLAG', flag);
def('timer_resolution', 'main', 'TAKE1', msec);
def('pid', 'main', 'TAKE1', once);
def('lock_file', 'main', 'TAKE1', once);
def('worker_processes', 'main', 'TAKE1', once);
def('debug_points', 'main', 'TAKE1', once);
def('user', 'main', 'TAKE12', once);
def('worker_priority', 'main', 'TAKE1', once);
def('worker_cpu_affinity', 'main', '1MORE', once);
def('worker_rlimit_nofile', 'main', 'TAKE1', num);
def('worker_rlimit_core', 'main', 'TAKE1', { slot: 'off' });
def('worker_shutdown_timeout', 'main', 'TAKE1', msec);
def('working_directory', 'main', 'TAKE1', once);
def('env', 'main', 'TAKE1');
def('load_module', 'main', 'TAKE1');
def('pcre_jit', 'main', 'FLAG', flag);
def('thread_pool', 'main', 'TAKE23');
def('error_log', 'main', '1MORE');
def('events', 'main', 'BLOCK|NOARGS', once);
def('http', 'main', 'BLOCK|NOARGS', once);

mod('events');
def('worker_connections', 'events', 'TAKE1', once);
def('use', 'events', 'TAKE1', once);
def('multi_accept', 'events', 'FLAG', flag);
def('accept_mutex', 'events', 'FLAG', flag);
def('accept_mutex_delay', 'events', 'TAKE1', msec);
def('debug_connection', 'events', 'TAKE1');
def('worker_aio_requests', 'events', 'TAKE1', num);
def('epoll_events', 'events', 'TAKE1', num);

// ---- ngx_http_core_module --------------------------------------------------------------------
mod('http_core');
def('variables_hash_max_size', 'http', 'TAKE1', num);
def('variables_hash_bucket_size', 'http', 'TAKE1', num);
def('server_names_hash_max_size', 'http', 'TAKE1', num);
def('server_names_hash_bucket_size', 'http', 'TAKE1', num);
def('server', 'http', 'BLOCK|NOARGS');
def('connection_pool_size', 'http srv', 'TAKE1', size);
def('request_pool_size', 'http srv', 'TAKE1', size);
def('client_header_timeout', 'http srv', 'TAKE1', msec);
def('client_header_buffer_size', 'http srv', 'TAKE1', size);
def('large_client_header_buffers', 'http srv', 'TAKE2', bufs);
def('ignore_invalid_headers', 'http srv', 'FLAG', flag);
def('merge_slashes', 'http srv', 'FLAG', flag);
def('underscores_in_headers', 'http srv', 'FLAG', flag);
def('location', 'srv loc', 'BLOCK|TAKE12', { check: 'location' });
def('listen', 'srv', '1MORE');
def('server_name', 'srv', '1MORE');
def('types_hash_max_size', HSL, 'TAKE1', num);
def('types_hash_bucket_size', HSL, 'TAKE1', num);
def('types', HSL, 'BLOCK|NOARGS');
def('default_type', HSL, 'TAKE1', once);
def('root', 'http srv loc lif', 'TAKE1', { check: 'root_alias' });
def('alias', 'loc', 'TAKE1', { check: 'root_alias' });
def('limit_except', 'loc', 'BLOCK|1MORE', once);
def('client_max_body_size', HSL, 'TAKE1', { slot: 'off' });
def('client_body_buffer_size', HSL, 'TAKE1', size);
def('client_body_timeout', HSL, 'TAKE1', msec);
def('client_body_temp_path', HSL, 'TAKE1234', once);
def('client_body_in_file_only', HSL, 'TAKE1', enumOf('off', 'on', 'clean'));
def('client_body_in_single_buffer', HSL, 'FLAG', flag);
def('sendfile', HSLI, 'FLAG', flag);
def('sendfile_max_chunk', HSL, 'TAKE1', size);
def('subrequest_output_buffer_size', HSL, 'TAKE1', size);
def('aio', HSL, 'TAKE1', once);
def('aio_write', HSL, 'FLAG', flag);
def('read_ahead', HSL, 'TAKE1', size);
def('directio', HSL, 'TAKE1', once);
def('directio_alignment', HSL, 'TAKE1', { slot: 'off' });
def('tcp_nopush', HSL, 'FLAG', flag);
def('tcp_nodelay', HSL, 'FLAG', flag);
def('send_timeout', HSL, 'TAKE1', msec);
def('send_lowat', HSL, 'TAKE1', size);
def('postpone_output', HSL, 'TAKE1', size);
def('limit_rate', HSLI, 'TAKE1', once);
def('limit_rate_after', HSLI, 'TAKE1', once);
def('keepalive_time', HSL, 'TAKE1', msec);
def('keepalive_timeout', HSL, 'TAKE12', once);
def('keepalive_requests', HSL, 'TAKE1', num);
def('keepalive_disable', HSL, 'TAKE12');
def('satisfy', HSL, 'TAKE1', enumOf('all', 'any'));
def('auth_delay', HSL, 'TAKE1', msec);
def('internal', 'loc', 'NOARGS', once);
def('lingering_close', HSL, 'TAKE1', enumOf('off', 'on', 'always'));
def('lingering_time', HSL, 'TAKE1', msec);
def('lingering_timeout', HSL, 'TAKE1', msec);
def('reset_timedout_connection', HSL, 'FLAG', flag);
def('absolute_redirect', HSL, 'FLAG', flag);
def('server_name_in_redirect', HSL, 'FLAG', flag);
def('port_in_redirect', HSL, 'FLAG', flag);
def('msie_padding', HSL, 'FLAG', flag);
def('msie_refresh', HSL, 'FLAG', flag);
def('log_not_found', HSL, 'FLAG', flag);
def('log_subrequest', HSL, 'FLAG', flag);
def('recursive_error_pages', HSL, 'FLAG', flag);
def('server_tokens', HSL, 'TAKE1', enumOf('off', 'on', 'build'));
def('if_modified_since', HSL, 'TAKE1', enumOf('off', 'exact', 'before'));
def('max_ranges', HSL, 'TAKE1', num);
def('chunked_transfer_encoding', HSL, 'FLAG', flag);
def('etag', HSL, 'FLAG', flag);
def('error_page', HSLI, '2MORE');
def('post_action', HSLI, 'TAKE1', once);
def('error_log', HSL, '1MORE');
def('open_file_cache', HSL, 'TAKE12', once);
def('open_file_cache_valid', HSL, 'TAKE1', { slot: 'sec' });
def('open_file_cache_min_uses', HSL, 'TAKE1', num);
def('open_file_cache_errors', HSL, 'FLAG', flag);
def('open_file_cache_events', HSL, 'FLAG', flag);
def('resolver', HSL, '1MORE', once);
def('resolver_timeout', HSL, 'TAKE1', msec);
def('gzip_vary', HSL, 'FLAG', flag);
def('gzip_http_version', HSL, 'TAKE1', enumOf('1.0', '1.1'));
def('gzip_proxied', HSL, '1MORE');
def('gzip_disable', HSL, '1MORE');
def('disable_symlinks', HSL, 'TAKE12', once);
def('try_files', 'srv loc', '2MORE', once);

// ---- other standard http modules -------------------------------------------------------------
mod('http_copy_filter');
def('output_buffers', HSL, 'TAKE2', bufs);

mod('http_index');
def('index', HSL, '1MORE');

mod('http_autoindex');
def('autoindex', HSL, 'FLAG', flag);

mod('http_rewrite');
def('rewrite', SSLL, 'TAKE23');
def('return', SSLL, 'TAKE12');
def('break', SSLL, 'NOARGS');
def('if', 'srv loc', 'BLOCK|1MORE');
def('set', SSLL, 'TAKE2', { check: 'set_var' });
def('rewrite_log', 'http srv sif loc lif', 'FLAG', flag);
def('uninitialized_variable_warn', 'http srv sif loc lif', 'FLAG', flag);

mod('http_log');
def('log_format', 'http', '2MORE');
def('access_log', 'http srv loc lif lmt', '1MORE');
def('open_log_file_cache', HSL, 'TAKE1234', once);

mod('http_access');
def('allow', 'http srv loc lmt', 'TAKE1');
def('deny', 'http srv loc lmt', 'TAKE1');

mod('http_auth_basic');
def('auth_basic', 'http srv loc lmt', 'TAKE1', once);
def('auth_basic_user_file', 'http srv loc lmt', 'TAKE1', once);

mod('http_auth_request');
def('auth_request', HSL, 'TAKE1', once);
def('auth_request_set', HSL, 'TAKE2');

mod('http_headers');
def('add_header', HSLI, 'TAKE23');
def('add_trailer', HSLI, 'TAKE23');
def('expires', HSLI, 'TAKE12', once);

mod('http_charset');
def('charset', HSLI, 'TAKE1', once);
def('source_charset', HSLI, 'TAKE1', once);
def('override_charset', HSLI, 'FLAG', flag);
def('charset_types', HSL, '1MORE');
def('charset_map', 'http', 'BLOCK|TAKE2');

mod('http_referer');
def('valid_referers', 'srv loc', '1MORE');
def('referer_hash_max_size', 'srv loc', 'TAKE1', num);
def('referer_hash_bucket_size', 'srv loc', 'TAKE1', num);

mod('http_gzip');
def('gzip', HSLI, 'FLAG', flag);
def('gzip_buffers', HSL, 'TAKE2', bufs);
def('gzip_types', HSL, '1MORE');
def('gzip_comp_level', HSL, 'TAKE1', num);
def('gzip_window', HSL, 'TAKE1', size);
def('gzip_hash', HSL, 'TAKE1', size);
def('gzip_no_buffer', HSL, 'FLAG', flag);
def('gzip_min_length', HSL, 'TAKE1', size);

mod('http_map');
def('map', 'http', 'BLOCK|TAKE2');
def('map_hash_max_size', 'http', 'TAKE1', num);
def('map_hash_bucket_size', 'http', 'TAKE1', num);

mod('http_upstream');
def('upstream', 'http', 'BLOCK|TAKE1', { check: 'upstream' });
def('server', 'ups', '1MORE');
def('hash', 'ups', 'TAKE12'); // redefining the balancer is only a warning
def('ip_hash', 'ups', 'NOARGS');
def('least_conn', 'ups', 'NOARGS');
def('random', 'ups', 'NOARGS|TAKE12');
def('zone', 'ups', 'TAKE12');
def('keepalive', 'ups', 'TAKE1', { check: 'ups_keepalive' });
def('keepalive_timeout', 'ups', 'TAKE1', msec);
def('keepalive_requests', 'ups', 'TAKE1', num);
def('keepalive_time', 'ups', 'TAKE1', msec);

mod('http_proxy');
def('proxy_pass', 'loc lif lmt', 'TAKE1', once);
def('proxy_redirect', HSL, 'TAKE12');
def('proxy_cookie_domain', HSL, 'TAKE12');
def('proxy_cookie_path', HSL, 'TAKE12');
def('proxy_buffering', HSL, 'FLAG', flag);
def('proxy_request_buffering', HSL, 'FLAG', flag);
def('proxy_ignore_client_abort', HSL, 'FLAG', flag);
def('proxy_bind', HSL, 'TAKE12', once);
def('proxy_socket_keepalive', HSL, 'FLAG', flag);
def('proxy_connect_timeout', HSL, 'TAKE1', msec);
def('proxy_send_timeout', HSL, 'TAKE1', msec);
def('proxy_send_lowat', HSL, 'TAKE1', size);
def('proxy_intercept_errors', HSL, 'FLAG', flag);
def('proxy_set_header', HSL, 'TAKE2');
def('proxy_headers_hash_max_size', HSL, 'TAKE1', num);
def('proxy_headers_hash_bucket_size', HSL, 'TAKE1', num);
def('proxy_set_body', HSL, 'TAKE1', once);
def('proxy_method', HSL, 'TAKE1', once);
def('proxy_pass_request_headers', HSL, 'FLAG', flag);
def('proxy_pass_request_body', HSL, 'FLAG', flag);
def('proxy_buffer_size', HSL, 'TAKE1', size);
def('proxy_read_timeout', HSL, 'TAKE1', msec);
def('proxy_buffers', HSL, 'TAKE2', bufs);
def('proxy_busy_buffers_size', HSL, 'TAKE1', size);
def('proxy_force_ranges', HSL, 'FLAG', flag);
def('proxy_limit_rate', HSL, 'TAKE1', size);
def('proxy_temp_path', HSL, 'TAKE1234', once);
def('proxy_max_temp_file_size', HSL, 'TAKE1', size);
def('proxy_temp_file_write_size', HSL, 'TAKE1', size);
def('proxy_next_upstream', HSL, '1MORE');
def('proxy_next_upstream_tries', HSL, 'TAKE1', num);
def('proxy_next_upstream_timeout', HSL, 'TAKE1', msec);
def('proxy_pass_header', HSL, 'TAKE1');
def('proxy_hide_header', HSL, 'TAKE1');
def('proxy_ignore_headers', HSL, '1MORE');
def('proxy_http_version', HSL, 'TAKE1', enumOf('1.0', '1.1'));
def('proxy_store', HSL, 'TAKE1', once);
def('proxy_store_access', HSL, 'TAKE123', once);
def('proxy_ssl_server_name', HSL, 'FLAG', flag);
def('proxy_ssl_verify', HSL, 'FLAG', flag);
def('proxy_ssl_name', HSL, 'TAKE1', once);
def('proxy_ssl_session_reuse', HSL, 'FLAG', flag);
def('proxy_ssl_trusted_certificate', HSL, 'TAKE1', once);
def('proxy_ssl_certificate', HSL, 'TAKE1', once);
def('proxy_ssl_certificate_key', HSL, 'TAKE1', once);
def('proxy_ssl_verify_depth', HSL, 'TAKE1', num);
def('proxy_ssl_protocols', HSL, '1MORE');
def('proxy_ssl_ciphers', HSL, 'TAKE1', once);
def('proxy_ssl_conf_command', HSL, 'TAKE2');

// temp paths of the other upstream modules (Test::Nginx / run.py presets set them)
mod('http_fastcgi');
def('fastcgi_temp_path', HSL, 'TAKE1234', once);
mod('http_scgi');
def('scgi_temp_path', HSL, 'TAKE1234', once);
mod('http_uwsgi');
def('uwsgi_temp_path', HSL, 'TAKE1234', once);

// ---- lua-nginx-module (0.10.x) ---------------------------------------------------------------
mod('lua');
const H = 'http';
const LUA_PHASE = 'http srv loc lif';
def('lua_load_resty_core', H, 'FLAG');
def('lua_thread_cache_max_entries', H, 'TAKE1', num);
def('lua_max_running_timers', H, 'TAKE1', num);
def('lua_max_pending_timers', H, 'TAKE1', num);
def('lua_shared_dict', H, 'TAKE2', { check: 'lua_shared_dict' });
def('lua_capture_error_log', H, 'TAKE1', once);
def('lua_sa_restart', H, 'FLAG', flag);
def('lua_regex_cache_max_entries', H, 'TAKE1', num);
def('lua_regex_match_limit', H, 'TAKE1', num);
def('lua_package_cpath', H, 'TAKE1', once);
def('lua_package_path', H, 'TAKE1', once);
def('lua_code_cache', LUA_PHASE, 'FLAG', flag);
def('lua_need_request_body', LUA_PHASE, 'FLAG', flag);
def('lua_transform_underscores_in_response_headers', LUA_PHASE, 'FLAG', flag);
def('lua_socket_log_errors', LUA_PHASE, 'FLAG', flag);
def('lua_malloc_trim', H, 'TAKE1');
def('lua_worker_thread_vm_pool_size', H, 'TAKE1', num);
def('rewrite_by_lua_no_postpone', H, 'FLAG', flag);
def('access_by_lua_no_postpone', H, 'FLAG', flag);

/** phase handler families: inline, _block, _file share one "is duplicate" slot */
function luaHandlers(base: string, ctx: string, forms: string[], extra: Opts = {}): void {
  for (const form of forms) {
    const name = base + form;
    const args = form === '_block' ? 'BLOCK|NOARGS' : 'TAKE1';
    def(name, ctx, args, { dup: 'lua:' + base, ...extra });
  }
}
const ALL_FORMS = ['', '_block', '_file'];
const BLOCK_FILE = ['_block', '_file'];
luaHandlers('init_by_lua', H, ALL_FORMS);
luaHandlers('init_worker_by_lua', H, ALL_FORMS);
luaHandlers('exit_worker_by_lua', H, BLOCK_FILE);
def('set_by_lua_block', SSLL, 'BLOCK|TAKE1');
def('set_by_lua', SSLL, '2MORE');
def('set_by_lua_file', SSLL, '2MORE');
luaHandlers('server_rewrite_by_lua', 'http srv', BLOCK_FILE, { check: 'lua_code' });
luaHandlers('rewrite_by_lua', LUA_PHASE, ALL_FORMS, { check: 'lua_code' });
luaHandlers('access_by_lua', LUA_PHASE, ALL_FORMS, { check: 'lua_code' });
luaHandlers('content_by_lua', 'loc lif', ALL_FORMS, { check: 'lua_code' });
luaHandlers('log_by_lua', LUA_PHASE, ALL_FORMS, { check: 'lua_code' });
luaHandlers('header_filter_by_lua', LUA_PHASE, ALL_FORMS, { check: 'lua_code' });
luaHandlers('body_filter_by_lua', LUA_PHASE, ALL_FORMS, { check: 'lua_code' });
luaHandlers('balancer_by_lua', 'ups', BLOCK_FILE);
def('balancer_keepalive', 'ups', 'TAKE1');
def('lua_socket_keepalive_timeout', LUA_PHASE, 'TAKE1', msec);
def('lua_socket_connect_timeout', LUA_PHASE, 'TAKE1', msec);
def('lua_socket_send_timeout', LUA_PHASE, 'TAKE1', msec);
def('lua_socket_send_lowat', LUA_PHASE, 'TAKE1', size);
def('lua_socket_buffer_size', LUA_PHASE, 'TAKE1', size);
def('lua_socket_pool_size', LUA_PHASE, 'TAKE1', num);
def('lua_socket_read_timeout', LUA_PHASE, 'TAKE1', msec);
def('lua_http10_buffering', LUA_PHASE, 'FLAG', flag);
def('lua_check_client_abort', LUA_PHASE, 'FLAG', flag);
def('lua_use_default_type', LUA_PHASE, 'FLAG', flag);
def('lua_ssl_protocols', HSL, '1MORE');
def('lua_ssl_ciphers', HSL, 'TAKE1', once);
def('lua_ssl_verify_depth', HSL, 'TAKE1', num);
def('lua_ssl_certificate', HSL, 'TAKE1');
def('lua_ssl_certificate_key', HSL, 'TAKE1');
def('lua_ssl_trusted_certificate', HSL, 'TAKE1', once);
def('lua_ssl_crl', HSL, 'TAKE1', once);
def('lua_ssl_key_log', HSL, 'TAKE1', once);
def('lua_ssl_conf_command', HSL, 'TAKE2');
luaHandlers('ssl_client_hello_by_lua', 'http srv', BLOCK_FILE);
luaHandlers('ssl_certificate_by_lua', 'http srv', BLOCK_FILE);
luaHandlers('ssl_session_store_by_lua', H, BLOCK_FILE);
luaHandlers('ssl_session_fetch_by_lua', H, BLOCK_FILE);
luaHandlers('proxy_ssl_certificate_by_lua', 'loc', BLOCK_FILE);
luaHandlers('proxy_ssl_verify_by_lua', 'loc', BLOCK_FILE);

// ---- echo-nginx-module -----------------------------------------------------------------------
mod('echo');
const EL = 'loc lif';
def('echo', EL, 'ANY');
def('echo_request_body', EL, 'NOARGS');
def('echo_sleep', EL, 'TAKE1');
def('echo_flush', EL, 'NOARGS');
def('echo_blocking_sleep', EL, 'TAKE1');
def('echo_reset_timer', EL, 'NOARGS');
def('echo_before_body', EL, 'ANY');
def('echo_after_body', EL, 'ANY');
def('echo_location_async', EL, 'TAKE12');
def('echo_location', EL, 'TAKE12');
def('echo_subrequest_async', EL, '2MORE');
def('echo_subrequest', EL, '2MORE');
def('echo_duplicate', EL, '2MORE');
def('echo_read_request_body', EL, 'NOARGS');
def('echo_foreach_split', EL, '2MORE');
def('echo_end', EL, 'NOARGS');
def('echo_abort_parent', EL, 'NOARGS');
def('echo_exec', EL, 'TAKE12');
def('echo_status', EL, 'TAKE1');

// ---- headers-more-nginx-module ---------------------------------------------------------------
mod('headers_more');
def('more_set_headers', HSLI, '1MORE');
def('more_clear_headers', HSLI, '1MORE');
def('more_set_input_headers', HSLI, '1MORE');
def('more_clear_input_headers', HSLI, '1MORE');

// ---- set-misc-nginx-module (0.33) + ngx_devel_kit --------------------------------------------
mod('set_misc');
for (const n of [
  'set_encode_base64', 'set_decode_base64', 'set_encode_base64url', 'set_decode_base64url',
  'set_encode_hex', 'set_decode_hex', 'set_md5', 'set_sha1', 'set_unescape_uri', 'set_escape_uri',
  'set_quote_sql_str', 'set_quote_pgsql_str', 'set_quote_json_str', 'set_encode_base32',
  'set_decode_base32', 'set_secure_random_alphanum', 'set_secure_random_lcalpha',
]) {
  def(n, ALL_HTTP, 'TAKE12');
}
for (const n of ['set_hmac_sha1', 'set_hmac_sha256', 'set_hashed_upstream', 'set_consistent_hashed_upstream',
  'set_random', 'set_rotate']) {
  def(n, ALL_HTTP, 'TAKE3');
}
def('set_if_empty', ALL_HTTP, 'TAKE2');
def('set_local_today', ALL_HTTP, 'TAKE1');
def('set_formatted_gmt_time', ALL_HTTP, 'TAKE2');
def('set_formatted_local_time', ALL_HTTP, 'TAKE2');
def('set_misc_base32_padding', ALL_HTTP, 'FLAG', { slot: 'flag', dup: 'set_misc:base32_padding' });
def('set_base32_padding', ALL_HTTP, 'FLAG', { slot: 'flag', dup: 'set_misc:base32_padding' });
def('set_base32_alphabet', ALL_HTTP, 'TAKE1', { check: 'base32_alphabet' });
mod('ndk');
def('upstream_list', 'http', '2MORE');

// ---- tsresty's own extensions ----------------------------------------------------------------
// http level only: the runtime keeps one value per http block.
// The unprefixed spellings are what the runtime applies today; keep one of the two.
mod('tsresty');
for (const prefix of ['tsresty_', '']) {
  /** VM instructions one handler run may execute before it is aborted (0 = unlimited). */
  def(prefix + 'lua_instruction_budget', 'http', 'TAKE1', { slot: 'num', dup: 'tsresty:budget' });
  /** Allow cosockets in phases where OpenResty forbids them (set_by_lua, filters, log). */
  def(prefix + 'lua_allow_cosocket_everywhere', 'http', 'FLAG', { slot: 'flag', dup: 'tsresty:cosocket' });
}

// ---------------------------------------------------------------------------------------------

/** All entries, in nginx module order. */
export const DIRECTIVES: readonly DirectiveSpec[] = table;

const byName = new Map<string, DirectiveSpec[]>();
for (const spec of table) {
  const list = byName.get(spec.name);
  if (list) list.push(spec);
  else byName.set(spec.name, [spec]);
}

/** Entries for a name (several when modules share it), or undefined if unknown. */
export function lookupDirective(name: string): readonly DirectiveSpec[] | undefined {
  return byName.get(name);
}

export function allowedIn(spec: DirectiveSpec, ctx: Context): boolean {
  return spec.contexts === 'any' || spec.contexts.has(ctx);
}

/** The entry nginx would use for `name` in `ctx` (first allowed one), if any. */
export function specFor(name: string, ctx: Context): DirectiveSpec | undefined {
  return byName.get(name)?.find((s) => allowedIn(s, ctx));
}

/** Flips directives to 'implemented' (all entries of each name). Unknown names throw. */
export function markImplemented(...names: string[]): void {
  for (const n of names) {
    const list = byName.get(n);
    if (!list) throw new Error(`markImplemented: unknown directive "${n}"`);
    for (const s of list) s.status = 'implemented';
  }
}
