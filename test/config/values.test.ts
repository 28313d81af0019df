import { describe, expect, test } from 'vitest';
import { ngxAtoi, ngxParseOffset, ngxParseSize, ngxParseTime } from '../../src/config/values.js';

describe('nginx value parsers', () => {
  test('ngx_atoi', () => {
    expect(ngxAtoi('0')).toBe(0);
    expect(ngxAtoi('123')).toBe(123);
    for (const bad of ['', '-1', '+1', '1.5', '1k', ' 1']) expect(ngxAtoi(bad), bad).toBeNull();
  });

  test('sizes and offsets', () => {
    expect(ngxParseSize('10')).toBe(10);
    expect(ngxParseSize('8k')).toBe(8192);
    expect(ngxParseSize('30M')).toBe(30 * 1024 * 1024);
    expect(ngxParseSize('1g')).toBeNull();
    expect(ngxParseOffset('1g')).toBe(1024 ** 3);
    for (const bad of ['', 'k', '1kb', '1.5m']) expect(ngxParseSize(bad), bad).toBeNull();
  });

  test('times in milliseconds (msec slots)', () => {
    expect(ngxParseTime('60', false)).toBe(60000);
    expect(ngxParseTime('68000ms', false)).toBe(68000);
    expect(ngxParseTime('1h 30m', false)).toBe(5400000);
    expect(ngxParseTime('1d2h', false)).toBe((24 + 2) * 3600000);
    expect(ngxParseTime('1s 500ms', false)).toBe(1500);
    expect(ngxParseTime('1w', false)).toBe(7 * 86400000);
    // quirk: unit-less parts separated by spaces add up (as seconds)
    expect(ngxParseTime('1 2', false)).toBe(3000);
    for (const bad of ['', 's', '1y', '1M', '1m 1h', '1s 1s', '5x']) {
      expect(ngxParseTime(bad, false), bad).toBeNull();
    }
  });

  test('times in seconds (sec slots)', () => {
    expect(ngxParseTime('10', true)).toBe(10);
    expect(ngxParseTime('1y', true)).toBe(365 * 86400);
    expect(ngxParseTime('1M 1d', true)).toBe(31 * 86400);
    expect(ngxParseTime('100ms', true)).toBeNull();
  });
});
