// echo's argument/option rules, without a server (ngx_http_echo_eval_cmd_args + exec_echo).
import { describe, it, expect } from 'vitest';
import { echoText, evalArgs, type EchoCmd } from '../../src/modules/echo.js';
import { compileComplex } from '../../src/http/complex.js';

function cmd(...raw: string[]): EchoCmd {
  return { op: 'echo', args: raw.map((r) => { const value = compileComplex(r); return { raw: r, value, constant: value.constant !== null }; }) };
}

function run(...raw: string[]): string | null {
  const { args, opts } = evalArgs({ vars: new Map([['e', '']]), captures: null } as never, cmd(...raw));
  return echoText(args, opts);
}

describe('echo text', () => {
  it('joins arguments with spaces and appends a newline', () => {
    expect(run('hello', 'world')).toBe('hello world\n');
    expect(run()).toBe('\n');
  });
  it('-n drops the newline; -- ends the options', () => {
    expect(run('-n', 'hi')).toBe('hi');
    expect(run('-n', '-n', 'hi')).toBe('hi');
    expect(run('--', '-n', 'hi')).toBe('-n hi\n');
    expect(run('-n', '--', '-n', 'hi')).toBe('-n hi');
    expect(run('a', '-n', 'hi')).toBe('a -n hi\n');
  });
  it('only the first option counts', () => {
    expect(run('-x', '-n', 'hi')).toBe('hi\n');
  });
  it('options are never taken from variables', () => {
    expect(run('$e', '-n', 'hi')).toBe(' -n hi\n');
  });
  it('-n with nothing (or an empty first argument) sends nothing', () => {
    expect(run('-n')).toBeNull();
    expect(run('-n', '')).toBeNull();
    expect(run('-n', '', 'x')).toBeNull();
  });
  it('empty arguments still get their separating space', () => {
    expect(run('', '')).toBe(' \n');
    expect(run('a', '', 'b')).toBe('a  b\n');
  });
});
