// ngx.time/now/today/localtime/utctime/http_time/cookie_time/parse_http_time/update_time.
// Expected strings from lua-nginx-module's t/016-resp-header, t/021-cookie-time, t/029-http-time.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { runLua } from '../support/lua-harness.js';
import { parseHttpTime, strftime, cookieTimeString } from '../../src/ngx/timefmt.js';

const one = (code: string): unknown => runLua(code)[0];
const err = (code: string): string => {
  try {
    runLua(code);
  } catch (e) {
    return String((e as Error).message);
  }
  return 'no error';
};
const tick = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('clock', () => {
  it('returns seconds and milliseconds as plain numbers', () => {
    const [t, n] = runLua('return ngx.time(), ngx.now()') as number[];
    expect(String(t)).toMatch(/^\d{10,}$/);
    expect(String(n)).toMatch(/^\d{10,}(\.\d{1,3})?$/);
    expect(Math.floor(n)).toBe(t);
    expect(one('return tostring(ngx.time())')).toMatch(/^\d{10,}$/);
    expect(one('return tostring(ngx.now() * 1000)')).toMatch(/^\d{13}$/);
  });

  it('is cached per event-loop turn and refreshed by update_time', async () => {
    await tick();
    const spy = vi.spyOn(Date, 'now').mockReturnValue(1700000000123);
    expect(one('return ngx.now()')).toBe(1700000000.123);
    spy.mockReturnValue(1700000005456);
    expect(runLua('return ngx.now(), ngx.time()')).toEqual([1700000000.123, 1700000000]);
    expect(runLua('ngx.update_time() return ngx.now(), ngx.time()')).toEqual([1700000005.456, 1700000005]);
    spy.mockReturnValue(1700000009000);
    await tick();
    expect(one('return ngx.now()')).toBe(1700000009);
  });

  it('formats today/localtime/utctime', () => {
    expect(one('return ngx.today()')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(one('return ngx.localtime()')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(one('return ngx.utctime() == os.date("!%Y-%m-%d %H:%M:%S", ngx.time())')).toBe(true);
    expect(one('return ngx.localtime() == os.date("%Y-%m-%d %H:%M:%S", ngx.time())')).toBe(true);
    expect(one('return ngx.today() == os.date("%Y-%m-%d", ngx.time())')).toBe(true);
  });
});

describe('http_time / cookie_time', () => {
  it('formats like nginx', () => {
    expect(one('return ngx.http_time(1290079655)')).toBe('Thu, 18 Nov 2010 11:27:35 GMT');
    expect(one('return ngx.http_time(1290079654)')).toBe('Thu, 18 Nov 2010 11:27:34 GMT');
    expect(one('return ngx.http_time(1290079654.9)')).toBe('Thu, 18 Nov 2010 11:27:34 GMT');
    expect(one('return ngx.http_time(0)')).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(one('return ngx.cookie_time(1290079655)')).toBe('Thu, 18-Nov-10 11:27:35 GMT');
    expect(one('return ngx.cookie_time(2208988800)')).toBe('Sun, 01-Jan-2040 00:00:00 GMT');
    expect(cookieTimeString(2114380800000)).toBe('Thu, 01-Jan-37 00:00:00 GMT');
    expect(cookieTimeString(2145916800000)).toBe('Fri, 01-Jan-2038 00:00:00 GMT');
  });

  it('insists on numbers', () => {
    expect(err('ngx.http_time("1290079655")')).toContain('number argument only');
    expect(err('ngx.cookie_time(nil)')).toContain('number argument only');
  });
});

describe('parse_http_time', () => {
  it('parses the three HTTP date formats', () => {
    expect(one('return ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT")')).toBe(1290079655);
    expect(one('return ngx.parse_http_time("Thursday, 18-Nov-10 11:27:35 GMT")')).toBe(1290079655);
    expect(one('return ngx.parse_http_time("Thu Nov 18 11:27:35 2010")')).toBe(1290079655);
    expect(one('return ngx.parse_http_time("Sun Nov  6 08:49:37 1994")')).toBe(784111777);
    expect(one('return ngx.parse_http_time(ngx.http_time(1234567890))')).toBe(1234567890);
  });

  it('returns nil where nginx returns NGX_ERROR', () => {
    expect(one('return ngx.parse_http_time("abc") or "nil"')).toBe('nil');
    expect(one('return ngx.parse_http_time("Thu, 31 Nov 2010 11:27:35 GMT")')).toBe(null);
    expect(one('return ngx.parse_http_time("Mon, 29 Feb 2010 11:27:35 GMT")')).toBe(null);
    expect(one('return ngx.parse_http_time("Mon, 29 Feb 2012 11:27:35 GMT")')).toBe(1330514855);
    expect(one('return ngx.parse_http_time("Thu, 18 Nov 2010 24:27:35 GMT")')).toBe(null);
    expect(one('return ngx.parse_http_time("Thu, 18 Xyz 2010 11:27:35 GMT")')).toBe(null);
    expect(one('return ngx.parse_http_time("")')).toBe(null);
    expect(err('ngx.parse_http_time(1)')).toContain('string argument only');
  });

  it('ignores what nginx ignores (zone, month name tail)', () => {
    expect(parseHttpTime('Thu, 18 Nov 2010 11:27:35 XYZ')).toBe(1290079655);
    expect(parseHttpTime('Thu, 18 Noz 2010 11:27:35 GMT')).toBe(1290079655);
  });
});

describe('strftime', () => {
  const tm = {
    year: 2010, month: 11, day: 18, hour: 11, min: 27, sec: 35, wday: 4, yday: 322, isdst: false, gmtoffMin: 0, zone: 'GMT',
  };
  it('knows the C locale conversions', () => {
    expect(strftime('%a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %%', tm)).toBe('Thu Thursday Nov November 18 18 11 11 322 11 27 AM 35 10 2010 %');
    expect(strftime('%c|%D|%F|%T|%R|%z|%Z|%s|%u|%w|%V|%G', tm)).toBe('Thu Nov 18 11:27:35 2010|11/18/10|2010-11-18|11:27:35|11:27|+0000|GMT|1290079655|4|4|46|2010');
    expect(strftime('%Q %-d', { ...tm, day: 5 })).toBe('%Q 5');
  });
});
