// undici ships llhttp compiled to WebAssembly as CommonJS modules whose export is the wasm bytes
// (a Buffer decoded from base64). They have no type declarations of their own.
declare module 'undici/lib/llhttp/llhttp-wasm.js' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
declare module 'undici/lib/llhttp/llhttp_simd-wasm.js' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
