"""marsad's benchmark: articles per core, stage by stage, against the bare floor and a peer.

    .venv/bin/python -m benchmarks --quick        # under 2 minutes
    .venv/bin/python -m benchmarks                # the full run (about 15 minutes on 2 cores)
    .venv/bin/python -m benchmarks --json out.json --no-stream --no-peer

In one run, on real articles (ANT corpus, ../shared/corpora/ant_multisource.jsonl.gz):
- the bare floor: reading and ``orjson.loads`` of every line;
- each pure stage alone (parse, normalise + tokenise, signatures, rule matching with the default
  rules and with 10 / 1,000 / 10,000 generated rules, story index, events), articles per CPU-second;
- the plain loop: the stages in sequence as the pipeline calls them, at 1k / 10k / all articles;
- the Beam batch pipeline (DirectRunner, one worker, and more with --workers) and the stream job on
  Prism (real Kafka broker on MARSAD_KAFKA_BOOTSTRAP), as a ratio to the plain loop;
- the peer: Apache Lucene Monitor with its ArabicAnalyzer on the same articles and generated rules
  (benchmarks/lucene/LucenePeer.java, jars from Maven Central), marsad's cost / Lucene's;
- produce -> alert latency on Prism at 50 articles/s (full run; benchmarks/stream_latency.py);
- the peak resident memory of every run (each is its own process).

Prints a table and writes the figures as JSON (default: benchmarks/results.json).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks import runs
from evaluation.corpora import ANT, ROOT

QUICK: dict[str, Any] = {
    "stage_articles": 600,
    "rule_articles": 200,
    "vocabulary_articles": 3000,
    "loop_sizes": (1000,),
    "beam_articles": 600,
    "workers": (1,),
    "stream_articles": 300,
    "stream_timeout": 240,
}
FULL: dict[str, Any] = {
    "stage_articles": 3000,
    "rule_articles": 1000,
    "vocabulary_articles": 28000,
    "loop_sizes": (1000, 10000, None),
    "beam_articles": 3000,
    "workers": (1, 2),
    "stream_articles": 2000,
    "stream_timeout": 1200,
}
RULE_COUNTS = (10, 1000, 10000)


def child(kind: str, arguments: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run one measurement in its own process: its peak memory and CPU are its own."""
    command = [sys.executable, "-m", "benchmarks.runs", kind, orjson.dumps(arguments).decode()]
    return runs.measured(command, timeout=timeout, cwd=ROOT)


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    out = [f"marsad benchmark ({results['mode']}), {results['machine']}, corpus {results['corpus']}"]
    stages = results["stages"]
    floor = stages["result"]["floor: read + orjson.loads"]["per_s"]
    rows = []
    for name, row in stages["result"].items():
        extra = []
        for key in ("alerts_per_article", "events_per_article", "state_bytes_per_article", "compile_s"):
            if key in row:
                extra.append(f"{key.replace('_per_article', '/article').replace('_', ' ')} {row[key]:.2f}")
        rows.append(
            [
                name,
                f"{row['articles']:,}",
                f"{row['cpu_s']:.2f}",
                fmt_rate(row["per_s"]),
                f"{floor / row['per_s']:.0f}x",
                "; ".join(extra),
            ]
        )
    out += [
        "",
        f"Stages alone, one process (peak {stages['peak_mb']:.0f} MB), CPU seconds:",
        table(rows, ["stage", "articles", "CPU s", "articles/s/core", "cost vs floor", ""]),
    ]
    story = stages["result"]["story index (keyed step)"]
    out.append(
        f"Keyed story step: {1000 / story['per_s']:.2f} ms and {story['state_bytes_per_article']:.0f} bytes of state "
        f"per remembered article. It is one key, so it caps a job at about {story['per_s']:,.0f} articles/s "
        "whatever the workers; every other step is parallel and scales with them."
    )

    loop_rate = None
    rows = []
    for run in results["loop"]:
        r = run["result"]
        loop_rate = loop_rate or r["per_s"]
        rows.append([f"{r['articles']:,}", f"{r['cpu_s']:.1f}", fmt_rate(r["per_s"]), f"{run['peak_mb']:.0f}"])
    out += [
        "",
        "Plain loop (parse -> prepare -> story index -> events, default rules), by corpus size:",
        table(rows, ["articles", "CPU s", "articles/s/core", "peak MB"]),
    ]

    rows = []
    for run in results.get("beam", []):
        r = run["result"]
        rate = r["articles"] / r["wall_s"]
        # One worker runs in this process: the run's own CPU. More: the whole process tree's.
        cpu = r["run_cpu_s"] if r["workers"] == 1 else run["cpu_s"]
        rows.append(
            [
                f"batch, DirectRunner, {r['workers']} worker(s)",
                f"{r['articles']:,}",
                f"{r['wall_s']:.1f}",
                f"{cpu:.1f}",
                fmt_rate(rate),
                fmt_rate(r["articles"] / cpu),
                f"{r['articles'] / cpu / loop_rate:.2f}",
                f"{run['peak_mb']:.0f}",
            ]
        )
    stream = results.get("stream")
    if stream and "result" in stream:
        r = stream["result"]
        stopped = f" (stopped at {r['wall_s']:.0f} s: {r['articles']} of {r['offered']})" if r.get("timed_out") else ""
        rows.append(
            [
                "stream, Prism + Kafka, 1 job" + stopped,
                f"{r['articles']:,}",
                f"{r['wall_s']:.1f}",
                f"{r['cpu_s']:.1f}",
                fmt_rate(r["articles"] / r["wall_s"]),
                fmt_rate(r["articles"] / r["cpu_s"]),
                f"{r['articles'] / r['cpu_s'] / loop_rate:.2f}",
                f"{r['peak_mb']:.0f}",
            ]
        )
    if rows:
        out += [
            "",
            "Beam. CPU: one worker, the run's own; more workers and the stream job, the whole process tree's,\n"
            "start-up included. x loop = articles per CPU-second / the plain loop's:",
            table(rows, ["run", "articles", "wall s", "CPU s", "articles/s", "articles/CPU-s", "x loop", "peak MB"]),
        ]
    if stream and "skipped" in stream:
        out.append(f"stream job: skipped ({stream['skipped']})")

    latency = results.get("latency")
    if latency and "skipped" not in latency:
        rows = [
            [name, *(f"{latency[key][p]:.0f}" for p in ("p50", "p90", "p99", "max"))]
            for name, key in (("broker round trip", "broker_ms"), ("marsad: article -> alert", "marsad_ms"))
        ]
        out += [
            "",
            f"Produce -> alert latency on Prism, {latency['articles']} articles at {latency['rate']:g}/s (ms):",
            table(rows, ["", "p50", "p90", "p99", "max"]),
        ]
    elif latency:
        out.append(f"latency: skipped ({latency['skipped']})")

    peer = results.get("peer")
    if peer and "skipped" not in peer:
        rows = []
        for count, row in peer["rows"].items():
            rows.append(
                [
                    count,
                    f"{row['marsad_ms']:.3f}",
                    f"{row['lucene_ms']:.3f}",
                    f"{row['marsad_ms'] / row['lucene_ms']:.2f}",
                    f"{row['marsad_matches']:.2f}",
                    f"{row['lucene_matches']:.2f}",
                ]
            )
        out += [
            "",
            f"Rule matching vs Lucene Monitor 9.11.1 + ArabicAnalyzer ({peer['articles']:,} articles, one "
            "thread, CPU ms per article; Lucene JIT-warmed, best of 3):",
            table(
                rows, ["rules", "marsad ms", "Lucene ms", "marsad / Lucene", "marsad matches/art", "Lucene matches/art"]
            ),
        ]
    elif peer:
        out.append(f"peer: skipped ({peer['skipped']})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes: under 2 minutes")
    parser.add_argument("--corpus", type=Path, default=ANT, help="a .jsonl.gz of articles (default: ANT)")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results.json", help="where to write figures"
    )
    parser.add_argument("--no-stream", action="store_true", help="skip the stream job on Prism")
    parser.add_argument("--no-peer", action="store_true", help="skip Lucene Monitor")
    parser.add_argument("--no-beam", action="store_true", help="skip the Beam batch runs")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        print(f"benchmarks: corpus not found at {args.corpus} (../shared/corpora)", file=sys.stderr)
        return 2
    sizes = QUICK if args.quick else FULL
    corpus = str(args.corpus)
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "corpus": args.corpus.name,
        "command": "python -m benchmarks" + (" --quick" if args.quick else ""),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }

    def note(message: str) -> None:
        # Figures so far are kept even if a later run fails.
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
        print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    note("stages alone")
    results["stages"] = child(
        "stages",
        {
            "path": corpus,
            "count": sizes["stage_articles"],
            "rule_articles": sizes["rule_articles"],
            "rule_counts": RULE_COUNTS,
            "vocabulary_articles": sizes["vocabulary_articles"],
        },
    )
    results["loop"] = []
    for count in sizes["loop_sizes"]:
        note(f"plain loop, {count or 'all'} articles")
        results["loop"].append(child("loop", {"path": corpus, "count": count}))
    if not args.no_beam:
        results["beam"] = []
        for workers in sizes["workers"]:
            note(f"Beam batch, {workers} worker(s)")
            results["beam"].append(child("beam", {"path": corpus, "count": sizes["beam_articles"], "workers": workers}))
    if not args.no_stream:
        note("stream job on Prism")
        results["stream"] = runs.stream(corpus, sizes["stream_articles"], sizes["stream_timeout"])
    if not args.no_stream and not args.quick:
        note("stream latency at 50 articles/s")
        results["latency"] = runs.latency(300, 50.0)
    if not args.no_peer:
        note("Lucene Monitor peer")
        results["peer"] = runs.peer(
            corpus, sizes["rule_articles"], sizes["stage_articles"], sizes["vocabulary_articles"], RULE_COUNTS
        )
        if "rows" in results["peer"]:
            marsad = results["stages"]["result"]
            for count, row in results["peer"]["rows"].items():
                ours = marsad[f"rules: {int(count):,} generated"]
                row["marsad_ms"] = ours["cpu_s"] / ours["articles"] * 1000
                row["marsad_matches"] = ours["alerts_per_article"]
    results["seconds"] = time.monotonic() - started
    args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print(report(results))
    print(f"\n{results['seconds']:.0f} s; figures in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
