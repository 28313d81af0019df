/*
 * `lua_shared_dict NAME SIZE` argument checks, with nginx's messages
 * (ngx_http_lua_directive.c: size <= 8191 is refused; ngx_parse_size accepts k/K and m/M).
 */
import { MAX_ZONE_SIZE, MIN_ZONE_SIZE } from './layout.js';

/** nginx's ngx_parse_size: decimal digits with an optional k/K/m/M suffix. -1 when invalid. */
export function parseSize(text: string): number {
  let len = text.length;
  if (len === 0) return -1;
  let scale = 1;
  const unit = text[len - 1];
  if (unit === 'k' || unit === 'K') scale = 1024;
  else if (unit === 'm' || unit === 'M') scale = 1024 * 1024;
  if (scale !== 1) len--;
  if (len === 0) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
    if (n > Number.MAX_SAFE_INTEGER / scale) return -1;
  }
  return n * scale;
}

/** Error message for a zone size (`text` as written in nginx.conf), or null when acceptable. */
export function sizeError(bytes: number, text: string): string | null {
  if (!(bytes >= MIN_ZONE_SIZE) || !Number.isInteger(bytes)) return `invalid lua shared dict size "${text}"`;
  if (bytes > MAX_ZONE_SIZE) return `lua_shared_dict size "${text}" is larger than the 4G tsresty supports`;
  return null;
}

/**
 * Checks `lua_shared_dict NAME SIZE` as nginx does. Returns the byte count, or the message for
 * `nginx: [emerg] MESSAGE in FILE:LINE`.
 */
export function checkSharedDictDirective(name: string, sizeText: string): { bytes: number } | { error: string } {
  if (name.length === 0) return { error: `invalid lua shared dict name "${name}"` };
  const bytes = parseSize(sizeText);
  const error = sizeError(bytes, sizeText);
  return error === null ? { bytes } : { error };
}

/** nginx's message for a second `lua_shared_dict` with the same name. */
export function duplicateDictError(name: string): string {
  return `lua_shared_dict "${name}" is already defined as "${name}"`;
}
