// A small React page for the hydration test: rendered to HTML on the
// server with react-dom/server, hydrated in Chromium with hydrateRoot
// (react_entry.mjs, bundled by esbuild for the test). Each click re-renders
// the phone number's text and its tel: href with the site's default number.
import { createElement as h, useState } from 'react';

export const DEFAULT = '+18005551234';

export function App() {
  const [n, setN] = useState(0);
  return h('div', { id: 'app' },
    h('a', { id: 'call', href: n % 2 ? 'tel:8005551234' : 'tel:+18005551234' }, 'Call (800) 555-1234'),
    h('p', { id: 'text' }, n % 2 ? `Phone ${n}: 800-555-1234` : `Tel ${n}: 800.555.1234`),
    h('button', { id: 'more', onClick: () => setN(n + 1) }, `clicked ${n}`));
}
