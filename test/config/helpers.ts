import { expect } from 'vitest';
import { parseConfigString, type ParseOptions } from '../../src/config/parser.js';
import { ConfigError } from '../../src/config/errors.js';
import type { Directive } from '../../src/config/ast.js';

/** Raw parse (no validation) of a snippet, as file "nginx.conf". */
export function raw(text: string, opts: ParseOptions = {}): Directive[] {
  return parseConfigString(text, 'nginx.conf', { validate: false, ...opts });
}

/** Validated parse of a snippet placed inside `http { server { ... } }`, with an events block. */
export function inServer(body: string): Directive[] {
  return parseConfigString(`events {}\nhttp {\nserver {\n${body}\n}\n}\n`, 'nginx.conf', { complete: true });
}

/** Validated parse of a whole file. */
export function full(text: string, opts: ParseOptions = {}): Directive[] {
  return parseConfigString(text, 'nginx.conf', { complete: true, ...opts });
}

/** The ConfigError `fn` throws (fails the test if it does not). */
export function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** Shorthand: the message of the error `fn` throws. */
export function messageOf(fn: () => unknown): string {
  return errorOf(fn).message;
}
