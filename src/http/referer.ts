// The referer module (ngx_http_referer_module): `valid_referers` and `$invalid_referer` ("1" when
// the Referer header is not one of the allowed, "" otherwise and when no rules are configured).
//
//   none           no Referer header
//   blocked        a Referer without "http://" / "https://" (stripped by a proxy or firewall)
//   server_names   the host is one of this server's names
//   host[/uri]     "example.com", "*.example.com", "www.example.*", ".example.com" (the domain
//                  and its subdomains), optionally followed by a URI prefix
//   ~regex         matched, case-insensitively, against the Referer without its scheme
import type { ServerConf } from '../config/model.js';

export interface RefererRules {
  none: boolean;
  blocked: boolean;
  serverNames: boolean;
  hosts: HostRule[];
  regexes: RegExp[];
}

interface HostRule {
  /** lower-case; for wildcards the fixed part ("example.com" of "*.example.com") */
  host: string;
  wildcard: 'none' | 'head' | 'tail';
  uri: string;
}

/** `compile` turns a "~regex" argument's pattern into a case-insensitive RegExp (config errors
 *  carry the directive's file:line). */
export function parseValidReferers(args: string[], compile: (pattern: string) => RegExp): RefererRules {
  const r: RefererRules = { none: false, blocked: false, serverNames: false, hosts: [], regexes: [] };
  for (const a of args) {
    if (a === 'none') r.none = true;
    else if (a === 'blocked') r.blocked = true;
    else if (a === 'server_names') r.serverNames = true;
    else if (a.startsWith('~')) r.regexes.push(compile(a.slice(1)));
    else {
      const slash = a.indexOf('/');
      const host = (slash < 0 ? a : a.slice(0, slash)).toLowerCase();
      const uri = slash < 0 ? '' : a.slice(slash);
      r.hosts.push(...hostRules(host, uri));
    }
  }
  return r;
}

function hostRules(host: string, uri: string): HostRule[] {
  if (host.startsWith('*.')) return [{ host: host.slice(2), wildcard: 'head', uri }];
  if (host.startsWith('.')) return [{ host: host.slice(1), wildcard: 'none', uri }, { host: host.slice(1), wildcard: 'head', uri }];
  if (host.endsWith('.*')) return [{ host: host.slice(0, -2), wildcard: 'tail', uri }];
  return [{ host, wildcard: 'none', uri }];
}

function hostMatches(rule: HostRule, host: string): boolean {
  switch (rule.wildcard) {
    case 'none':
      return host === rule.host;
    case 'head':
      return host.length > rule.host.length + 1 && host.endsWith('.' + rule.host);
    case 'tail':
      return host.length > rule.host.length + 1 && host.startsWith(rule.host + '.');
  }
}

const serverRules = new WeakMap<ServerConf, HostRule[]>();

/** server_name entries as host rules (the config keeps "*.a.b" as ".a.b" and "a.b.*" as "a.b."),
 *  built once per server. */
function serverNameRules(server: ServerConf): HostRule[] {
  const cached = serverRules.get(server);
  if (cached !== undefined) return cached;
  const out: HostRule[] = [];
  for (const n of server.names.exact) out.push({ host: n, wildcard: 'none', uri: '' });
  for (const n of server.names.wildcardsHead) out.push({ host: n.slice(1).toLowerCase(), wildcard: 'head', uri: '' });
  for (const n of server.names.wildcardsTail) out.push({ host: n.slice(0, -1).toLowerCase(), wildcard: 'tail', uri: '' });
  serverRules.set(server, out);
  return out;
}

function anyHostMatches(rules: HostRule[], host: string, path: string): boolean {
  for (const rule of rules) if (hostMatches(rule, host) && (rule.uri === '' || path.startsWith(rule.uri))) return true;
  return false;
}

/** $invalid_referer for a Referer header value (null: none sent). */
export function invalidReferer(rules: RefererRules | undefined, referer: string | null, server: ServerConf): string {
  if (rules === undefined) return '';
  if (referer === null) return rules.none ? '' : '1';
  const lower = referer.slice(0, 8).toLowerCase();
  const skip = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : 0;
  // nginx's shortest plausible referer is "http://i.ru"
  if (skip === 0 || referer.length < 11) return rules.blocked ? '' : '1';
  const rest = referer.slice(skip);
  let end = 0;
  while (end < rest.length && rest[end] !== '/' && rest[end] !== ':') end++;
  const host = rest.slice(0, end).toLowerCase();
  const path = rest.slice(end).replace(/^:\d*/, '');
  if (anyHostMatches(rules.hosts, host, path)) return '';
  if (rules.serverNames && anyHostMatches(serverNameRules(server), host, path)) return '';
  for (const re of rules.regexes) if (re.test(rest)) return '';
  return '1';
}
