// The WebAssembly core (wasm/dni.mjs over dni.wasm), loaded once per
// isolate and shared by the worker (rewriter) and the PoolShard Durable
// Objects (lease engine) that run in it. A failed load is retried after
// 30 s; meanwhile callers get the error and serve pages unchanged.

let loading = null;
let failedAt = 0;

export function getDni() {
  if (!loading) {
    if (Date.now() - failedAt < 30000) return Promise.reject(new Error('WebAssembly core unavailable'));
    loading = (async () => {
      const [binding, wasm] = await Promise.all([import('./dni.mjs'), import('./dni.wasm')]);
      return binding.loadDni(wasm.default);
    })();
    loading.catch((e) => {
      loading = null;
      failedAt = Date.now();
      console.error(`dni: cannot load WebAssembly core: ${e.message}`);
    });
  }
  return loading;
}
