// The header and body filter chains, in the order nginx + OpenResty's module list runs them:
// headers-more, then lua (header_filter_by_lua / body_filter_by_lua), then echo's
// before/after-body filter, then add_header. Modules register themselves once at load.
import type { Request } from './request.js';

export type HeaderFilter = (req: Request) => void;
/** Returns true to pass the buffer on unchanged, false when it swallowed it, or a replacement. */
export type BodyFilter = (req: Request, data: Uint8Array | null, last: boolean) => boolean | { data: Uint8Array | null; last: boolean };

interface Entry<T> {
  order: number;
  fn: T;
}

const headerEntries: Entry<HeaderFilter>[] = [];
const bodyEntries: Entry<BodyFilter>[] = [];

export const filters = { header: [] as HeaderFilter[], body: [] as BodyFilter[] };

/** Filter positions: lower runs first. */
export const FilterOrder = { headersMore: 10, lua: 20, echo: 30, addHeader: 40 } as const;

export function addHeaderFilter(order: number, fn: HeaderFilter): void {
  headerEntries.push({ order, fn });
  headerEntries.sort((a, b) => a.order - b.order);
  filters.header = headerEntries.map((e) => e.fn);
}

export function addBodyFilter(order: number, fn: BodyFilter): void {
  bodyEntries.push({ order, fn });
  bodyEntries.sort((a, b) => a.order - b.order);
  filters.body = bodyEntries.map((e) => e.fn);
}
