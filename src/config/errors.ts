/**
 * Configuration errors, worded like nginx.
 *
 * nginx's ngx_conf_log_error() formats "<detail> in <file>:<line>" and the
 * command-line front end prefixes it with "nginx: [emerg] ". `message` holds
 * exactly the part after "[emerg] " so the CLI can print
 * `nginx: [${err.level}] ${err.message}`.
 */

export type ConfigErrorLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warn';

/** Machine-readable classification; the wording lives in `detail`. */
export type ConfigErrorCode =
  | 'syntax' // tokenizer / block structure errors
  | 'lua_block' // *_by_lua_block lexer errors
  | 'io' // open()/read failures, include problems
  | 'unknown_directive'
  | 'not_allowed'
  | 'not_terminated'
  | 'no_opening_brace'
  | 'arity'
  | 'duplicate'
  | 'invalid_value'
  | 'semantic'; // other handler-level checks (duplicate location, ...)

export class ConfigError extends Error {
  /** nginx's message without the " in file:line" suffix. */
  readonly detail: string;
  readonly code: ConfigErrorCode;
  /** File the error refers to; '' when nginx prints no location. */
  readonly file: string;
  /** 1-based line; 0 when there is no line (no location, or the -g text). */
  readonly line: number;
  /** Log level nginx uses for this message (almost always emerg). */
  readonly level: ConfigErrorLevel;

  constructor(
    detail: string,
    file: string,
    line: number,
    code: ConfigErrorCode = 'syntax',
    level: ConfigErrorLevel = 'emerg',
  ) {
    // line 0 with a name: nginx's "-g" text, reported as "... in command line"
    super(file ? (line > 0 ? `${detail} in ${file}:${line}` : `${detail} in ${file}`) : detail);
    this.name = 'ConfigError';
    this.detail = detail;
    this.code = code;
    this.file = file;
    this.line = line;
    this.level = level;
  }
}

/** strerror() texts (glibc) for the errno values file access can produce. */
const STRERROR: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EIO: [5, 'Input/output error'],
  EACCES: [13, 'Permission denied'],
  EBUSY: [16, 'Device or resource busy'],
  EISDIR: [21, 'Is a directory'],
  ENOTDIR: [20, 'Not a directory'],
  EINVAL: [22, 'Invalid argument'],
  ENFILE: [23, 'Too many open files in system'],
  EMFILE: [24, 'Too many open files'],
  ENAMETOOLONG: [36, 'File name too long'],
  ELOOP: [40, 'Too many levels of symbolic links'],
};

/**
 * nginx appends " (errno: strerror)" to messages logged with an errno
 * (ngx_log_errno()). Builds that suffix from a Node.js system error.
 */
export function errnoSuffix(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const known = e && e.code ? STRERROR[e.code] : undefined;
  if (known) return ` (${known[0]}: ${known[1]})`;
  const n = e && typeof e.errno === 'number' ? Math.abs(e.errno) : 0;
  return ` (${n}: ${e && e.message ? e.message : 'Unknown error'})`;
}
