// allow / deny (ngx_http_access_module): the first matching rule decides; 403 when it denies.
import type { Request } from './request.js';
import { logError, Level } from '../log/errorlog.js';
import * as net from 'node:net';

const blockLists = new WeakMap<object, net.BlockList>();

function matches(rule: { cidr: string }, addr: string): boolean {
  if (rule.cidr === 'all') return true;
  let bl = blockLists.get(rule);
  if (!bl) {
    bl = new net.BlockList();
    const [ip, bits] = rule.cidr.split('/');
    const type = ip.includes(':') ? 'ipv6' : 'ipv4';
    if (bits !== undefined) bl.addSubnet(ip, Number(bits), type);
    else bl.addAddress(ip, type);
    blockLists.set(rule, bl);
  }
  return bl.check(addr, addr.includes(':') ? 'ipv6' : 'ipv4');
}

/** -1 when no rule matched (NGX_DECLINED), 0 when a rule allows, else the status (403). With
 *  `satisfy any` a deny is only logged once the whole access phase failed (post_access). */
export function checkAccessRules(req: Request): number {
  const rules = req.loc.s.accessRules;
  if (rules.length === 0) return -1;
  let addr = req.conn.remoteAddress;
  if (addr.startsWith('::ffff:')) addr = addr.slice(7);
  for (const r of rules) {
    if (matches(r, addr)) {
      if (r.allow) return 0;
      if (!req.loc.s.satisfyAny) logError(Level.Err, 'access forbidden by rule', req);
      return 403;
    }
  }
  return -1;
}

/** satisfy any: an access handler said no (401/403); remembered unless a 401 is already (nginx
 *  keeps the 401 so WWW-Authenticate survives). */
export function noteAccessDenied(req: Request, code: number): void {
  if (req.ext.accessCode !== 401) req.ext.accessCode = code;
}

/** ngx_http_core_post_access_phase: with satisfy any and no handler granting access, the
 *  remembered code finalises the request. Returns that code or 0. */
export function postAccess(req: Request): number {
  const code = req.ext.accessCode as number | undefined;
  if (!code) return 0;
  req.ext.accessCode = 0;
  if (code === 403) logError(Level.Err, 'access forbidden by rule', req);
  return code;
}
