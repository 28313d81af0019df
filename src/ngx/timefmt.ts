// Time strings in nginx's formats (HTTP date, log time, ISO 8601, cookie time).
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** "Sun, 06 Nov 1994 08:49:37 GMT" */
export function httpTimeString(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}

/** "Thu, 18-Nov-10 11:27:35 GMT" (ngx.cookie_time uses a 4-digit year: "Thu, 18-Nov-2010 11:27:35 GMT") */
export function cookieTimeString(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}

function tzOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

/** $time_local: "28/Sep/1970:12:00:00 +0600" */
export function localLogTime(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${tzOffset(d)}`;
}

/** $time_iso8601: "1970-09-28T12:00:00+06:00" */
export function iso8601Local(ms: number): string {
  const d = new Date(ms);
  const o = tzOffset(d);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${o.slice(0, 3)}:${o.slice(3)}`;
}

/** Error-log timestamp: "2024/01/02 03:04:05" (local time). */
export function errorLogTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}/${p2(d.getMonth() + 1)}/${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** ngx.localtime(): "2011-06-29 17:57:27" (local); ngx.utctime(): same in UTC. */
export function localTimeString(ms: number, utc: boolean): string {
  const d = new Date(ms);
  if (utc) {
    return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  }
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** ngx.today(): "2011-06-29" (local) */
export function todayString(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`;
}

/** Parse an HTTP date in the formats nginx's ngx_parse_http_time accepts; null if invalid. */
export function parseHttpTime(s: string): number | null {
  // RFC 1123 "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT",
  // asctime "Sun Nov  6 08:49:37 1994"
  let m = /^\s*[A-Za-z]{3},\s+(\d{1,2})[ -]([A-Za-z]{3})[ -](\d{2,4})\s+(\d{2}):(\d{2}):(\d{2})\s+GMT\s*$/.exec(s);
  if (!m) m = /^\s*[A-Za-z]+,\s+(\d{1,2})-([A-Za-z]{3})-(\d{2,4})\s+(\d{2}):(\d{2}):(\d{2})\s+GMT\s*$/.exec(s);
  let day: number, mon: number, year: number, hh: number, mm: number, ss: number;
  if (m) {
    day = Number(m[1]);
    mon = MONTHS.indexOf(m[2][0].toUpperCase() + m[2].slice(1).toLowerCase());
    year = Number(m[3]);
    if (m[3].length === 2) year += year < 70 ? 2000 : 1900;
    hh = Number(m[4]);
    mm = Number(m[5]);
    ss = Number(m[6]);
  } else {
    const a = /^\s*[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/.exec(s);
    if (!a) return null;
    mon = MONTHS.indexOf(a[1]);
    day = Number(a[2]);
    hh = Number(a[3]);
    mm = Number(a[4]);
    ss = Number(a[5]);
    year = Number(a[6]);
  }
  if (mon < 0 || hh > 23 || mm > 59 || ss > 59 || day < 1 || day > 31) return null;
  return Date.UTC(year, mon, day, hh, mm, ss) / 1000;
}
