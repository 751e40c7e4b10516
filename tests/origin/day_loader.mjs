// Plays a `dni sim` trace through a real origin as one edge would: the
// lease engine (the core on WebAssembly, as the edge runs it) holds the
// origin's granted numbers, its events go to /v1/edge/sync in batches, and
// every call is a ringing webhook at its start and a completed one (with
// CallDuration) at its end. Trace time 0 is `base` (Unix seconds).
// Returns, per CallSid, the visitor who really called (the trace's truth).
import { readFileSync } from 'node:fs';
import { sync, webhook } from './helpers.mjs';
import { loadDni } from '../../wasm/dni.mjs';

const WASM = new URL('../../build/wasm/dni.wasm', import.meta.url);

export async function playTrace(o, { poolId, pool, trace, base, edge = 'day-edge', landing = 'https://shop.example/' }) {
  let seq = 0;
  let pending = [];
  const flush = async () => {
    const r = await sync(o, { edge, seq: ++seq, events: pending });
    if (r.status !== 200) throw new Error(`sync ${r.status}: ${r.text}`);
    if (r.json.rejected) throw new Error(`sync rejected ${r.json.rejected} events: ${r.text}`);
    pending = [];
    return r.json;
  };
  const answer = await flush();
  const mine = answer.pools.find((p) => p.id === poolId);
  const epoch = new Map(mine.grants.map((g) => [g.number, g.epoch]));
  const dni = await loadDni(readFileSync(WASM));
  const eng = dni.pool({ ...pool, numbers: mine.grants.map((g) => g.number) });
  eng.recordEvents();
  const leases = new Map(); // engine lease id -> {name, visitor, tags, number}
  const shown = new Map(); // visitor -> slot last shown (-1: fallback)
  const ends = []; // calls in progress: {t, slot, sid, number, start}
  const truth = new Map();
  let calls = 0;

  const drain = () => {
    for (const ev of eng.events()) {
      const L = leases.get(ev.lease);
      const t = base + ev.t;
      if (ev.type === 'assign') {
        pending.push({ type: 'assign', pool: poolId, lease: L.name, number: L.number, epoch: epoch.get(L.number),
          visitor: L.visitor, tags: L.tags, referrer: '', url: L.url, t });
      } else if (ev.type === 'seen' || ev.type === 'join') {
        pending.push({ type: ev.type, lease: L.name, t });
      } else if (ev.type === 'release') {
        pending.push({ type: 'release', lease: L.name, t });
      } else if (ev.type === 'overflow') {
        pending.push({ type: 'overflow', pool: poolId, t });
      }
    }
  };
  const hangUp = async (upTo) => {
    ends.sort((a, b) => a.t - b.t);
    while (ends.length && ends[0].t <= upTo) {
      const c = ends.shift();
      eng.callEnd(c.slot, c.t);
      drain();
      await flush();
      const w = await webhook(o, { CallSid: c.sid, To: c.number, From: '+15550100000', CallStatus: 'completed',
        Timestamp: String(base + c.t), CallDuration: String(Math.round(c.t - c.start)) });
      if (w.status !== 200) throw new Error(`webhook ${w.status}: ${w.text}`);
    }
  };

  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const e of lines) {
    await hangUp(e.t);
    const v = e.visitor;
    if (e.ev === 'visit') {
      const tags = e.tags ?? {};
      const a = eng.assign(v, e.t, tags);
      if (a.kind === 'new' || a.kind === 'sticky') {
        const q = new URLSearchParams(tags).toString();
        leases.set(a.lease, { name: `L${a.lease}`, visitor: v, tags, number: a.number, url: landing + (q ? `?${q}` : '') });
      }
      shown.set(v, { slot: a.slot, lease: a.lease });
    } else if (e.ev === 'hb' || e.ev === 'leave') {
      const s = shown.get(v);
      if (s && s.lease) {
        const live = e.ev === 'hb' ? eng.seen(s.lease, e.t) : eng.leave(s.lease, e.t);
        if (!live) s.lease = 0;
      }
    } else if (e.ev === 'call') {
      const s = shown.get(v);
      const sid = `CAday${String(++calls).padStart(5, '0')}`;
      truth.set(sid, v);
      const number = s && s.slot >= 0 ? eng.numberOf(s.slot) : pool.default_number;
      if (s && s.slot >= 0) {
        eng.callStart(s.slot, e.t);
        ends.push({ t: e.t + (e.duration ?? 0), slot: s.slot, sid, number, start: e.t });
      }
      drain();
      await flush();
      const w = await webhook(o, { CallSid: sid, To: number, From: '+15550100000', CallStatus: 'ringing',
        Timestamp: String(base + e.t) });
      if (w.status !== 200) throw new Error(`webhook ${w.status}: ${w.text}`);
      if (!s || s.slot < 0) {
        const c = await webhook(o, { CallSid: sid, To: number, From: '+15550100000', CallStatus: 'completed',
          Timestamp: String(base + e.t + (e.duration ?? 0)), CallDuration: String(Math.round(e.duration ?? 0)) });
        if (c.status !== 200) throw new Error(`webhook ${c.status}: ${c.text}`);
      }
      continue;
    }
    drain();
    if (pending.length >= 500) await flush();
  }
  await hangUp(Infinity);
  const last = lines.length ? lines[lines.length - 1].t : 0;
  eng.tick(last + 7 * 86400);
  drain();
  await flush();
  eng.free();
  return { truth, calls };
}
