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

/** 0 when access is allowed, else the status to finalize with. */
export function checkAccessRules(req: Request): number {
  const rules = req.loc.s.accessRules;
  if (rules.length === 0) return 0;
  let addr = req.conn.remoteAddress;
  if (addr.startsWith('::ffff:')) addr = addr.slice(7);
  for (const r of rules) {
    if (matches(r, addr)) {
      if (r.allow) return 0;
      logError(Level.Err, 'access forbidden by rule', req);
      return 403;
    }
  }
  return 0;
}
