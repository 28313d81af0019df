// Time strings in nginx's formats (HTTP date, log time, ISO 8601, cookie time).
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const p2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** "Sun, 06 Nov 1994 08:49:37 GMT" */
export function httpTimeString(ms: number): string {
  const d = new Date(ms);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}

/** ngx_http_cookie_time: "Thu, 18-Nov-10 11:27:35 GMT"; years after 2037 keep 4 digits
 *  ("Netscape 3.x does not understand 4-digit years at all and 2-digit years more than 37"). */
export function cookieTimeString(ms: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const ys = y > 2037 ? String(y) : p2(y % 100);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${ys} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
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

const MDAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** nginx's ngx_parse_http_time, byte for byte: RFC 822 "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 *  "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994". Returns seconds since
 *  the epoch, or null where nginx returns NGX_ERROR (-1). Input is a byte string (latin1). */
export function parseHttpTime(str: string): number | null {
  const end = str.length;
  const at = (i: number): number => (i < end ? str.charCodeAt(i) : 0);
  const dig = (i: number): boolean => {
    const c = at(i);
    return c >= 48 && c <= 57;
  };
  const num = (i: number): number => at(i) - 48;
  const RFC822 = 1;
  const RFC850 = 2;
  const ISOC = 3;
  let fmt = 0;
  let p = 0;
  for (; p < end; p++) {
    const c = at(p);
    if (c === 44) break; // ','
    if (c === 32) {
      fmt = ISOC;
      break;
    }
  }
  for (p++; p < end; p++) if (at(p) !== 32) break;
  if (end - p < 18) return null;
  let day = 0;
  let year = 0;
  if (fmt !== ISOC) {
    if (!dig(p) || !dig(p + 1)) return null;
    day = num(p) * 10 + num(p + 1);
    p += 2;
    if (at(p) === 32) {
      if (end - p < 18) return null;
      fmt = RFC822;
    } else if (at(p) === 45) {
      fmt = RFC850;
    } else return null;
    p++;
  }
  let month: number;
  switch (at(p)) {
    case 74: // J
      month = at(p + 1) === 97 ? 0 : at(p + 2) === 110 ? 5 : 6;
      break;
    case 70: // F
      month = 1;
      break;
    case 77: // M
      month = at(p + 2) === 114 ? 2 : 4;
      break;
    case 65: // A
      month = at(p + 1) === 112 ? 3 : 7;
      break;
    case 83: // S
      month = 8;
      break;
    case 79: // O
      month = 9;
      break;
    case 78: // N
      month = 10;
      break;
    case 68: // D
      month = 11;
      break;
    default:
      return null;
  }
  p += 3;
  if ((fmt === RFC822 && at(p) !== 32) || (fmt === RFC850 && at(p) !== 45)) return null;
  p++;
  if (fmt === RFC822) {
    if (!dig(p) || !dig(p + 1) || !dig(p + 2) || !dig(p + 3)) return null;
    year = num(p) * 1000 + num(p + 1) * 100 + num(p + 2) * 10 + num(p + 3);
    p += 4;
  } else if (fmt === RFC850) {
    if (!dig(p) || !dig(p + 1)) return null;
    year = num(p) * 10 + num(p + 1);
    year += year < 70 ? 2000 : 1900;
    p += 2;
  }
  if (fmt === ISOC) {
    if (at(p) === 32) p++;
    if (!dig(p)) return null;
    day = num(p++);
    if (at(p) !== 32) {
      if (!dig(p)) return null;
      day = day * 10 + num(p++);
    }
    if (end - p < 14) return null;
  }
  if (at(p++) !== 32) return null;
  if (!dig(p) || !dig(p + 1)) return null;
  const hour = num(p) * 10 + num(p + 1);
  p += 2;
  if (at(p++) !== 58) return null;
  if (!dig(p) || !dig(p + 1)) return null;
  const min = num(p) * 10 + num(p + 1);
  p += 2;
  if (at(p++) !== 58) return null;
  if (!dig(p) || !dig(p + 1)) return null;
  const sec = num(p) * 10 + num(p + 1);
  if (fmt === ISOC) {
    p += 2;
    if (at(p++) !== 32) return null;
    if (!dig(p) || !dig(p + 1) || !dig(p + 2) || !dig(p + 3)) return null;
    year = num(p) * 1000 + num(p + 1) * 100 + num(p + 2) * 10 + num(p + 3);
  }
  if (hour > 23 || min > 59 || sec > 59) return null;
  if (day === 29 && month === 1) {
    if ((year & 3) !== 0 || (year % 100 === 0 && year % 400 !== 0)) return null;
  } else if (day > MDAYS[month]) return null;
  // shift new year to March 1 and start months from 1 (Gauss' formula)
  let m = month;
  if (--m <= 0) {
    m += 12;
    year -= 1;
  }
  const days =
    365 * year + Math.floor(year / 4) - Math.floor(year / 100) + Math.floor(year / 400) +
    Math.floor((367 * m) / 12) - 30 + day - 1 - 719527 + 31 + 28;
  const t = days * 86400 + hour * 3600 + min * 60 + sec;
  return t === -1 ? null : t;
}

/** Broken-down time for strftime (month 1-12, wday 0-6 from Sunday, yday 1-366). */
export interface TmFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  wday: number;
  yday: number;
  isdst: boolean;
  gmtoffMin: number;
  zone: string;
}

const FULL_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const FULL_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function isoWeek(tm: TmFields): { year: number; week: number } {
  // ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday
  const wdayMon = (tm.wday + 6) % 7; // 0 = Monday
  const yday0 = tm.yday - 1;
  let year = tm.year;
  let week = Math.floor((yday0 - wdayMon + 10) / 7);
  const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (week < 1) {
    year--;
    const prevDays = isLeap(year) ? 366 : 365;
    week = Math.floor((yday0 + prevDays - wdayMon + 10) / 7);
  } else {
    const days = isLeap(year) ? 366 : 365;
    if (yday0 - wdayMon + 3 >= days) {
      // the Thursday of this week falls in the next year
      week = 1;
      year++;
    }
  }
  return { year, week };
}

/** C-locale strftime (glibc flavour: unknown conversions are copied through; "_", "-", "0" and "^"
 *  flags and the E/O modifiers are accepted). `fmt` and the result are byte strings. */
export function strftime(fmt: string, tm: TmFields): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const start = i;
    let flag = '';
    while (i + 1 < fmt.length && '_-0^#'.includes(fmt[i + 1])) flag = fmt[++i];
    let width = 0;
    while (i + 1 < fmt.length && fmt[i + 1] >= '0' && fmt[i + 1] <= '9') width = width * 10 + Number(fmt[++i]);
    if (i + 1 < fmt.length && (fmt[i + 1] === 'E' || fmt[i + 1] === 'O')) i++;
    const c = fmt[++i];
    const num = (v: number, w: number, pad = '0'): string => {
      const ww = width || w;
      let s = String(Math.abs(v));
      const padc = flag === '-' ? '' : flag === '_' ? ' ' : flag === '0' ? '0' : pad;
      if (padc) while (s.length < ww - (v < 0 ? 1 : 0)) s = padc + s;
      return v < 0 ? '-' + s : s;
    };
    const txt = (s: string): string => (flag === '^' ? s.toUpperCase() : s);
    const hour12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
    switch (c) {
      case 'a': out += txt(DAYS[tm.wday]); break;
      case 'A': out += txt(FULL_DAYS[tm.wday]); break;
      case 'b': case 'h': out += txt(MONTHS[tm.month - 1]); break;
      case 'B': out += txt(FULL_MONTHS[tm.month - 1]); break;
      case 'c': out += `${DAYS[tm.wday]} ${MONTHS[tm.month - 1]} ${String(tm.day).padStart(2, ' ')} ${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)} ${tm.year}`; break;
      case 'C': out += num(Math.floor(tm.year / 100), 2); break;
      case 'd': out += num(tm.day, 2); break;
      case 'D': out += `${p2(tm.month)}/${p2(tm.day)}/${p2(((tm.year % 100) + 100) % 100)}`; break;
      case 'e': out += num(tm.day, 2, ' '); break;
      case 'F': out += `${num(tm.year, 4)}-${p2(tm.month)}-${p2(tm.day)}`; break;
      case 'g': out += num(((isoWeek(tm).year % 100) + 100) % 100, 2); break;
      case 'G': out += num(isoWeek(tm).year, 1); break;
      case 'H': out += num(tm.hour, 2); break;
      case 'I': out += num(hour12, 2); break;
      case 'j': out += num(tm.yday, 3); break;
      case 'k': out += num(tm.hour, 2, ' '); break;
      case 'l': out += num(hour12, 2, ' '); break;
      case 'm': out += num(tm.month, 2); break;
      case 'M': out += num(tm.min, 2); break;
      case 'n': out += '\n'; break;
      case 'p': out += flag === '#' ? (tm.hour < 12 ? 'am' : 'pm') : tm.hour < 12 ? 'AM' : 'PM'; break;
      case 'P': out += tm.hour < 12 ? 'am' : 'pm'; break;
      case 'r': out += `${p2(hour12)}:${p2(tm.min)}:${p2(tm.sec)} ${tm.hour < 12 ? 'AM' : 'PM'}`; break;
      case 'R': out += `${p2(tm.hour)}:${p2(tm.min)}`; break;
      case 's': {
        const t = Date.UTC(tm.year, tm.month - 1, tm.day, tm.hour, tm.min, tm.sec) / 1000 - tm.gmtoffMin * 60;
        out += String(t);
        break;
      }
      case 'S': out += num(tm.sec, 2); break;
      case 't': out += '\t'; break;
      case 'T': out += `${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)}`; break;
      case 'u': out += String(tm.wday === 0 ? 7 : tm.wday); break;
      case 'U': out += num(Math.floor((tm.yday - 1 + 7 - tm.wday) / 7), 2); break;
      case 'V': out += num(isoWeek(tm).week, 2); break;
      case 'w': out += String(tm.wday); break;
      case 'W': out += num(Math.floor((tm.yday - 1 + 7 - ((tm.wday + 6) % 7)) / 7), 2); break;
      case 'x': out += `${p2(tm.month)}/${p2(tm.day)}/${p2(((tm.year % 100) + 100) % 100)}`; break;
      case 'X': out += `${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)}`; break;
      case 'y': out += num(((tm.year % 100) + 100) % 100, 2); break;
      case 'Y': out += num(tm.year, 1); break;
      case 'z': {
        const o = tm.gmtoffMin;
        const a = Math.abs(o);
        out += `${o < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
        break;
      }
      case 'Z': out += tm.zone; break;
      case '%': out += '%'; break;
      default:
        // glibc prints unknown conversions as they are
        out += fmt.slice(start, i + 1);
        if (c === undefined) return out;
    }
  }
  return out;
}
