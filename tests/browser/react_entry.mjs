// Browser entry of the hydration test (bundled by esbuild with React).
import { createElement as h } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { App } from './react_app.mjs';

window.hydrationErrors = [];
hydrateRoot(document.getElementById('root'), h(App), {
  onRecoverableError: (e) => window.hydrationErrors.push(String(e && e.message)),
});
window.hydrated = true;
