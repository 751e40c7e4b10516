#!/usr/bin/env python3
"""Writes the dni sim scenario traces and pools of tests/sim/ (deterministic:
a fixed seed per scenario, times printed with three decimals, so every run
writes the same bytes).

    python3 tests/sim/gen_traces.py [OUTDIR]            # the checked-in files
    python3 tests/sim/gen_traces.py --million OUT.jsonl  # 1,000,000 visitors,
                                                         # one tag set
"""
import json
import random
import sys


def num(i, base=18885550000):
    return "+%d" % (base + i)


def line(out, t, ev, visitor, **extra):
    rec = {"t": float("%.3f" % t), "ev": ev, "visitor": visitor}
    rec.update(extra)
    out.append(rec)


def dump(path, records):
    with open(path, "w") as f:
        for r in records:
            t = "%.3f" % r["t"]
            rest = {k: v for k, v in r.items() if k != "t"}
            body = json.dumps(rest, separators=(",", ":"))
            f.write('{"t":%s,%s\n' % (t, body[1:]))


def pool(path, n, **settings):
    p = {"numbers": [num(i) for i in range(n)], "default_number": "+18005550100"}
    p.update(settings)
    with open(path, "w") as f:
        json.dump(p, f, indent=1)
        f.write("\n")


def sessions(rng, visitors, day_s, call_rate, tags_of=None, late_calls=True):
    """Visits spread over the day, heartbeats every 15 s while on the page,
    a leave, and for some visitors a call soon after (or the next hours)."""
    events = []
    for v in range(visitors):
        vid = "v%d" % v
        start = rng.uniform(0, day_s)
        length = rng.expovariate(1 / 120.0)
        extra = {}
        if tags_of is not None:
            extra["tags"] = tags_of(v)
        events.append((start, len(events), "visit", vid, extra))
        t = start + 15
        while t < start + length:
            events.append((t, len(events), "hb", vid, {}))
            t += 15
        end = start + length
        events.append((end, len(events), "leave", vid, {}))
        if rng.random() < call_rate:
            if late_calls and rng.random() < 0.2:
                when = end + rng.uniform(600, 6 * 3600)
            else:
                when = start + rng.uniform(0, length + 60)
            events.append((when, len(events), "call", vid,
                           {"duration": float("%.3f" % rng.uniform(30, 400))}))
    events.sort(key=lambda e: (round(e[0], 3), e[1]))
    out = []
    for t, _, ev, vid, extra in events:
        line(out, t, ev, vid, **extra)
    return out


def three_by_ten(outdir):
    rng = random.Random(3)
    sources = ["google", "bing", "facebook"]

    def tags(v):
        return {"utm_source": sources[v % 3], "utm_campaign": "c%d" % (v // 3 % 10),
                "gclid": "g%d" % v}

    dump(outdir + "/tags_3x10.jsonl",
         sessions(rng, 600, 8 * 3600, 0.3, tags))
    pool(outdir + "/tags_3x10.pool.json", 40, mode="tags",
         tracked_tags=["utm_source", "utm_campaign"])


def identical(outdir):
    out = []
    for v in range(10000):
        line(out, v * 0.5, "visit", "v%d" % v, tags={"utm_source": "google"})
        if v % 100 == 7:
            line(out, v * 0.5 + 0.25, "call", "v%d" % v, duration=60.0)
    dump(outdir + "/tags_identical.jsonl", out)
    pool(outdir + "/tags_identical.pool.json", 5, mode="tags",
         tracked_tags=["utm_source"])


def peak(outdir):
    # visitor mode, no calls after a lease ends: a pool as large as the peak
    # of live leases never overflows
    rng = random.Random(7)
    dump(outdir + "/visitor_peak.jsonl",
         sessions(rng, 400, 2 * 3600, 0.0, None, late_calls=False))
    pool(outdir + "/visitor_peak.pool.json", 10)


def day(outdir):
    # one day of 1,000 visitors with 8% calling, some hours later: the
    # trace behind the pool-size recommendation in docs/pool.md
    rng = random.Random(20)
    dump(outdir + "/visitor_day.jsonl", sessions(rng, 1000, 86400, 0.08, None))
    pool(outdir + "/visitor_day.pool.json", 50)


def million(path):
    with open(path, "w") as f:
        for v in range(1000000):
            f.write('{"t":%.3f,"ev":"visit","visitor":"v%d","tags":{"utm_source":"google"}}\n'
                    % (v * 0.01, v))
        f.write('{"t":%.3f,"ev":"call","visitor":"v999999","duration":60}\n' % 10000.0)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--million":
        million(sys.argv[2])
    else:
        d = sys.argv[1] if len(sys.argv) > 1 else "tests/sim"
        three_by_ten(d)
        identical(d)
        peak(d)
        day(d)
