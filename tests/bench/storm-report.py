#!/usr/bin/env python3
"""Turns the raw outputs of process-storm.sh into the comparison table (one row per listener case).

For every case it knows the generator's pid and tag and the storm children's pids (pid -> index, written by
storm.c). A listener "captured" a child's fork/exec/exit if it reported that event for that pid after the
generator's own exec; its exec is "full" when the reported command line is exactly
"/bin/true storm-<tag>-<index>" and (where the listener reports it) the executable is /usr/bin/true.

For the shipper it also counts the exec documents whose process.start is finer than 10 ms: /proc/<pid>/stat
gives start times in clock ticks (10 ms at CLK_TCK 100), so the procfs and netlink backends always write a
multiple of 10 ms, while the eBPF backend can give the kernel's start time in nanoseconds.
"""
import json
import os
import re
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def load_pids(path):
    pids = {}
    with open(path) as f:
        for line in f:
            pid, index = line.split()
            pids[int(pid)] = int(index)
    return pids


class Tally:
    def __init__(self, pids, tag):
        self.pids, self.tag = pids, tag
        self.closed = set()
        self.fork, self.exec, self.exit, self.full = set(), set(), set(), set()
        self.fine_start = set()

    def expected_args(self, pid):
        return ["/bin/true", "storm-%s-%d" % (self.tag, self.pids[pid])]

    def open(self, pid):
        return pid in self.pids and pid not in self.closed

    def on_fork(self, pid):
        if self.open(pid):
            self.fork.add(pid)

    def on_exec(self, pid, full, fine_start=False):
        if self.open(pid):
            self.exec.add(pid)
            if full:
                self.full.add(pid)
            if fine_start:
                self.fine_start.add(pid)

    def on_exit(self, pid):
        if self.open(pid):
            self.exit.add(pid)
            self.closed.add(pid)


def tally_bench(path, gen, pids, tag):
    t, started = Tally(pids, tag), False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            kind, rest = line[0], line[2:].rstrip("\n")
            if kind == "E":
                pid_text, _, payload = rest.partition(" ")
                pid = int(pid_text)
                args_text, _, exe = payload.partition("\t")
                args = args_text.split("\x1f") if args_text else []
                if pid == gen:
                    started = True
                elif started and pid in pids:
                    t.on_exec(pid, args == t.expected_args(pid) and exe == "/usr/bin/true")
            elif started:
                pid = int(rest.split()[0])
                (t.on_fork if kind == "F" else t.on_exit)(pid)
    return t


FORKSTAT_LINE = re.compile(r"^\d\d:\d\d:\d\d (\w+)\s+(\d+)\s?(.*)$")


def tally_forkstat(path, gen, pids, tag):
    t, started = Tally(pids, tag), False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = FORKSTAT_LINE.match(line.rstrip("\n"))
            if not m:
                continue
            event, pid, rest = m.group(1), int(m.group(2)), m.group(3)
            if event == "exec" and pid == gen:
                started = True
            if not started:
                continue
            if event == "fork" and rest.lstrip().startswith("child"):
                t.on_fork(pid)
            elif event == "exec" and pid in pids:
                t.on_exec(pid, rest.strip() == " ".join(t.expected_args(pid)))
            elif event == "exit":
                t.on_exit(pid)
    return t


# The shipper writes RFC 3339 UTC with nine fractional digits ("2026-12-04T10:20:36.123456789Z"); fewer digits,
# none, or an offset instead of Z are read too.
ISO_FRACTION = re.compile(r"T\d\d:\d\d:\d\d(?:[.,](\d+))?(?:Z|[+-]\d\d:?\d\d)?$")
TEN_MS_NS = 10_000_000


def finer_than_10ms(start):
    """True when an ISO-8601 process.start has a non-zero part below 10 ms (nanoseconds within its 10 ms)."""
    m = ISO_FRACTION.search(start) if isinstance(start, str) else None
    if not m:
        return False
    nanoseconds = int((m.group(1) or "")[:9].ljust(9, "0"))
    return nanoseconds % TEN_MS_NS != 0


def tally_shipper(path, gen, pids, tag):
    t = Tally(pids, tag)
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            proc = doc.get("process") or {}
            pid = proc.get("pid")
            if pid not in pids or (proc.get("parent") or {}).get("pid") != gen:
                continue
            types = (doc.get("event") or {}).get("type") or []
            if "start" in types:
                t.on_fork(pid)
            if "change" in types:
                t.on_exec(pid, proc.get("args") == t.expected_args(pid) and proc.get("executable") == "/usr/bin/true",
                          finer_than_10ms(proc.get("start")))
            if "end" in types:
                t.on_exit(pid)
    return t


def metric(text, name):
    """A metric from netlink-bench's "name value" lines, or from the shipper's shutdown log line
    "Total metrics: {nested json of the non-zero metrics}" (absent there means 0)."""
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    if m:
        return int(m.group(1))
    totals = [line for line in text.splitlines() if "Total metrics: " in line]
    if totals:
        node = json.loads(totals[-1].split("Total metrics: ", 1)[1])
        for part in name.split("."):
            node = node.get(part, 0) if isinstance(node, dict) else 0
        return int(node) if isinstance(node, int) else 0
    return None


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def merge(runs):
    """One row per case over its rounds: events and outcomes summed, CPU as median with its range."""
    first = runs[0]
    total = lambda key: sum(r[key] for r in runs)
    n = total("n")
    lost = [r["lost"] for r in runs]
    hits = [r["hits"] for r in runs]
    cpus = [r["cpu"] for r in runs]
    execs = total("exec")
    return {
        "case": first["case"],
        "rate": str(int(median([int(r["rate"]) for r in runs if r["rate"] != "?"] or [0]))),
        "expected": total("expected"), "captured": total("captured"),
        "fork": total("fork"), "exec": total("exec"), "exit": total("exit"), "n": n,
        "lost": "n/a" if "n/a" in lost else sum(lost),
        "full": 100.0 * total("full_count") / n if n else 0.0,
        "fine_start": "n/a" if first["fine_count"] is None
        else "%.1f%%" % (100.0 * total("fine_count") / execs) if execs else "-",
        "cpu": median(cpus), "cpu_range": "%.3f-%.3f" % (min(cpus), max(cpus)),
        "rss": max(r["rss"] for r in runs),
        "hits": hits[0] if len(set(hits)) == 1 else " ".join(hits),
    }


def main(work):
    runs = {}
    with open(os.path.join(work, "cases.txt")) as f:
        for line in f:
            case, round_, kind, gen, c0, c1, hwm_kb, tag = line.split()
            name = "%s.r%s" % (case, round_)
            gen, n_ticks = int(gen), int(c1) - int(c0)
            pids = load_pids(os.path.join(work, name + ".pids"))
            n = len(pids)
            out = os.path.join(work, name + ".out")
            text = open(out, encoding="utf-8", errors="replace").read() if kind == "bench" else ""
            err = open(os.path.join(work, name + ".err"), encoding="utf-8", errors="replace").read()
            hit_ratio, fine_count = "n/a", None
            if kind == "bench":
                t = tally_bench(os.path.join(work, name + ".events"), gen, pids, tag)
                lost = metric(text, "process.lost")
            elif kind == "forkstat":
                t = tally_forkstat(out, gen, pids, tag)
                lost = None
            else:
                t = tally_shipper(out, gen, pids, tag)
                lost = metric(err, "process.lost")
                hits, misses = metric(err, "process.hash.hits") or 0, metric(err, "process.hash.misses") or 0
                hit_ratio = "%.2f%%" % (100.0 * hits / (hits + misses)) if hits + misses else "off"
                fine_count = len(t.fine_start)
            storm = open(os.path.join(work, name + ".storm")).read()
            rate = re.search(r"\((\d+)/s\)", storm)
            runs.setdefault(case, []).append({
                "case": case,
                "rate": rate.group(1) if rate else "?",
                "expected": 3 * n,
                "captured": len(t.fork) + len(t.exec) + len(t.exit),
                "fork": len(t.fork), "exec": len(t.exec), "exit": len(t.exit), "n": n,
                "lost": "n/a" if lost is None else lost,
                "full_count": len(t.full),
                "fine_count": fine_count,
                "cpu": n_ticks / CLK_TCK / n * 1000 if n else 0.0,
                "rss": int(hwm_kb) / 1024,
                "hits": hit_ratio,
            })

    rows = [merge(r) for r in runs.values()]
    header = "%-18s %8s %18s %22s %6s %10s %11s %12s %13s %12s %10s" % (
        "case", "spawn/s", "events cap/exp", "fork/exec/exit", "lost", "full exec", "start<10ms", "CPU s/1000", "(range)",
        "peak RSS", "hash hits")
    print(header)
    print("-" * len(header))
    for r in rows:
        print("%-18s %8s %18s %22s %6s %9.1f%% %11s %12.3f %13s %8.1f MiB %10s" % (
            r["case"], r["rate"], "%d/%d" % (r["captured"], r["expected"]),
            "%d/%d/%d" % (r["fork"], r["exec"], r["exit"]), r["lost"], r["full"], r["fine_start"], r["cpu"],
            r["cpu_range"], r["rss"], r["hits"]))
    print()
    print("CPU s/1000: listener CPU seconds (user + system) per 1,000 processes, median over the rounds (range in")
    print("brackets); events and full exec are summed over all rounds; peak RSS is the largest of the rounds.")
    print("full exec: exec events whose command line is exactly '/bin/true storm-<tag>-<i>' and (netlink-bench,")
    print("shipper) executable /usr/bin/true; forkstat does not report the executable, so only its command line counts.")
    print("start<10ms (shipper): share of the exec documents counted whose process.start has a non-zero part below")
    print("10 ms; start times from /proc/<pid>/stat (procfs, netlink) are whole clock ticks, so 0 %; eBPF gives ns.")


if __name__ == "__main__":
    main(sys.argv[1])
