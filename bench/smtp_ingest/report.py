"""Statistics and the human-readable report."""
import statistics


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def size_label(size):
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def summarize(runs):
    """Medians per (server, size, sessions) over the runs without errors."""
    groups = {}
    for r in runs:
        groups.setdefault((r["server"], r["size"], r["sessions"]), []).append(r)
    out = []
    for (server, size, sessions), rs in groups.items():
        ok = [r for r in rs if not r.get("error")]
        out.append({
            "server": server, "size": size, "sessions": sessions,
            "runs": len(rs), "runs_ok": len(ok),
            "acked_per_s": median(r["acked_per_s"] for r in ok),
            "delivered_per_s": median(r["delivered_per_s"] for r in ok),
            "p50_ms": median(r["p50_ms"] for r in ok),
            "p99_ms": median(r["p99_ms"] for r in ok),
            "lost": sum(r["lost"] for r in ok),
            "failed": sum(r["failed"] for r in ok),
            "errors": [r["error"] for r in rs if r.get("error")],
            "disturbed": sum(1 for r in ok if r.get("disturbed")),
        })
    return out


def _fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def render(summary, servers, params, idle):
    lines = []
    head = (f"{'server':<16} {'size':>6} {'sess':>4} {'acked/s':>9} {'deliv/s':>9} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'lost':>5} {'failed':>6} {'runs':>5}")
    lines.append(f"SMTP ingest: medians of {params['runs']} run(s) per row; "
                 f"{params['per_conn']} messages per connection; latency = MAIL FROM .. 250 after DATA")
    configs = sorted({(s["size"], s["sessions"]) for s in summary})
    index = {(s["server"], s["size"], s["sessions"]): s for s in summary}
    for size, sessions in configs:
        n = params["messages"][str(size)]
        lines.append("")
        lines.append(f"== {size_label(size)} messages, {sessions} session(s), {n} messages per run ==")
        lines.append(head)
        for server in servers:
            s = index.get((server, size, sessions))
            if s is None:
                continue
            lines.append(
                f"{server:<16} {size_label(size):>6} {sessions:>4} {_fmt(s['acked_per_s']):>9} "
                f"{_fmt(s['delivered_per_s']):>9} {_fmt(s['p50_ms'], 2):>7} {_fmt(s['p99_ms'], 2):>7} "
                f"{s['lost']:>5} {s['failed']:>6} {s['runs_ok']:>2}/{s['runs']:<2}")
            if s["disturbed"]:
                lines.append(f"    !!! {s['disturbed']} of these runs were disturbed by other processes")
            for e in s["errors"]:
                lines.append(f"    error: {e.splitlines()[0][:160]}")
            if s["lost"]:
                lines.append(f"    !!! {s['lost']} ACKNOWLEDGED MESSAGE(S) NOT DELIVERED !!!")
        v = index.get(("valija", size, sessions))
        p = index.get(("postfix+dovecot", size, sessions))
        if v and p and v["delivered_per_s"] and p["delivered_per_s"]:
            ratio = f"ratio valija/peer, delivered msgs/s: {v['delivered_per_s'] / p['delivered_per_s']:.2f}x"
            if v["p50_ms"] and p["p50_ms"]:
                ratio += f"   (p50 latency peer/valija: {p['p50_ms'] / v['p50_ms']:.2f}x)"
            lines.append(ratio)
    if idle:
        lines.append("")
        if idle.get("error"):
            lines.append(f"Idle connections: error: {idle['error']}")
        else:
            mib = idle["rss_kib"] / 1024
            if idle["greeted"] < idle["requested"]:
                verdict = "INCOMPLETE test, not comparable to"
            else:
                verdict = "within" if mib < 64 else "OVER"
            lines.append(
                f"Idle connections: {idle['greeted']}/{idle['requested']} greeted and held "
                f"({idle['alive']} still open at measurement); valija VmRSS {mib:.1f} MiB "
                f"({verdict} the 64 MiB target; {idle['rss_before_kib'] / 1024:.1f} MiB before the "
                f"connections, VmHWM {idle['hwm_kib'] / 1024:.1f} MiB)")
            for e in idle.get("errors", [])[:5]:
                lines.append(f"    connection error: {e}")
    return "\n".join(lines)
