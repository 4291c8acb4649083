"""How reliably a marsad stream job starts reading on a Flink session cluster.

N times: a fresh input topic, a sample of articles replayed into it (``marsad replay``), the stream
job started as the README says (``marsad run --input kafka://... --output kafka://... --runner
flink --flink-master HOST:PORT``), then one verdict per start:

- READ      the first record is on the output topics within ``--deadline`` s (default 90) of the
            Flink job being RUNNING;
- STALLED   nothing on the output topics by then;
- FAILED    the job never got to RUNNING, or marsad exited first.

For every start it prints the timings (submission to RUNNING, RUNNING to the first and to the
last record), the 1-minute load average, and the checkpoints taken (``/jobs/<id>/checkpoints``,
sampled as the job runs: median duration of those triggered while the job was reading and of
those after, with ``--hold S`` seconds of an idle job: the cost of a checkpoint option); for a
start that did not read, Flink's records in/out and input watermark per operator
(``/jobs/<id>/vertices/<v>/subtasks/metrics``: where it stopped; FLINK_STARTS_VERBOSE=1 prints
them for every start). Then it cancels the job and deletes the topics. The summary line is
``N starts, K read, S stalled`` (``, F failed`` if any); exit status 0 only if every start read.

    docker/kafka/broker.sh start
    docker/flink/job-server.sh build && docker/flink/cluster.sh start
    .venv/bin/python benchmarks/flink_starts.py --starts 20 --checkpoint-ms 1000
    .venv/bin/python benchmarks/flink_starts.py --starts 10 -- --finish_bundle_before_checkpointing=false

Anything after ``--`` goes to ``marsad run`` unchanged (Beam options, ``--stop-at-end``...). With
``--stop-at-end`` or ``--max-records`` the job is a backfill: the script then waits (``--end-wait``)
for marsad to exit on its own and reports its exit code, the job's final state and the counts
marsad printed (ENDED, or NOT ENDED), instead of cancelling it.

Bounded in time: at most about ``--submit-timeout + --deadline + --all-wait + --hold + 100`` s per start
(``--end-wait`` instead of ``--all-wait`` for a backfill). ``--json FILE`` keeps the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from pipelines.settings import default_bootstrap

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "ant_multisource.jsonl.gz"
OUTPUT_KINDS = ("articles", "alerts", "events", "deadletter")
RECORD_KINDS = ("articles", "deadletter")  # one of these per input record
TERMINAL = ("FINISHED", "CANCELED", "FAILED")
MAX_WATERMARK = 2**63 - 1


# --- Flink REST ---------------------------------------------------------------------------------


class Rest:
    def __init__(self, master: str) -> None:
        self.base = master if master.startswith("http") else f"http://{master}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.loads(response.read())

    def patch(self, path: str) -> None:
        request = urllib.request.Request(self.base + path, method="PATCH")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def job(self, name_prefix: str) -> dict | None:
        """The newest job whose name starts with ``name_prefix`` (marsad names it marsad-GROUP-...)."""
        jobs = [j for j in self.get("/jobs/overview")["jobs"] if j["name"].startswith(name_prefix)]
        return max(jobs, key=lambda j: j["start-time"]) if jobs else None


def short(name: str, width: int = 70) -> str:
    name = " ".join(name.split())
    return name if len(name) <= width else name[: width - 1] + "…"


def vertices(rest: Rest, job_id: str) -> list[dict]:
    """Per operator (Flink chains the Impulse and the first Python stage into one vertex): records
    in and out summed over subtasks, and the lowest input watermark (None: none reported)."""
    found = []
    for vertex in rest.get(f"/jobs/{job_id}")["vertices"]:
        try:
            found += operators(rest, f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics")
        except (OSError, ValueError, KeyError) as error:
            found.append({"name": vertex["name"], "error": f"{type(error).__name__}: {error}"})
    return found


def operators(rest: Rest, base: str) -> list[dict]:
    names: list[str] = []
    for _ in range(6):  # the JobManager fetches metrics every 10 s: a first look may find none
        names = [m["id"] for m in rest.get(base)]
        if any(n.endswith(".numRecordsIn") for n in names):
            break
        time.sleep(2.5)
    wanted = [n for n in names if n.endswith((".numRecordsIn", ".numRecordsOut", ".currentInputWatermark"))]
    if not wanted:
        raise ValueError("no operator metrics")
    values = {m["id"]: m for m in rest.get(base + "?get=" + urllib.parse.quote(",".join(wanted)))}
    found = []
    for operator in sorted({n.rsplit(".", 1)[0] for n in wanted}, key=lambda o: (not o.startswith("Source"), o)):
        mark = values.get(operator + ".currentInputWatermark", {}).get("min")
        found.append(
            {
                "name": operator,
                "in": int(values.get(operator + ".numRecordsIn", {}).get("sum", 0)),
                "out": int(values.get(operator + ".numRecordsOut", {}).get("sum", 0)),
                "watermark": None if mark is None or operator.startswith("Source") else int(mark),
            }
        )
    return found


class CheckpointLog:
    """Every checkpoint of a job seen in ``/jobs/<id>/checkpoints`` (its history holds only the
    last 10, so it is sampled as the job runs): trigger time, duration, size, status."""

    def __init__(self, rest: Rest) -> None:
        self.rest = rest
        self.seen: dict[int, dict] = {}
        self.job_id: str | None = None
        self._next = 0.0

    def sample(self, force: bool = False) -> None:
        if self.job_id is None or (not force and time.time() < self._next):
            return
        self._next = time.time() + 2
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = self.rest.get(f"/jobs/{self.job_id}/checkpoints")
            self.summary = data
            for entry in data.get("history", []):
                if entry.get("status") in ("COMPLETED", "FAILED"):
                    self.seen[entry["id"]] = {
                        "trigger_s": entry["trigger_timestamp"] / 1000,
                        "ms": entry["end_to_end_duration"],
                        "bytes": entry.get("checkpointed_size", entry.get("state_size", 0)),
                        "status": entry["status"],
                    }

    def figures(self, reading_until: float | None) -> dict:
        """Counts, Flink's own summary, and the durations of the checkpoints triggered while the
        job was reading (up to the last record out) and after (idle)."""
        self.sample(force=True)
        data = getattr(self, "summary", {})
        summary = data.get("summary", {}).get("end_to_end_duration", {})
        done = [c for c in self.seen.values() if c["status"] == "COMPLETED"]
        until = reading_until if reading_until is not None else float("nan")  # neither: not all read
        return {
            "completed": data.get("counts", {}).get("completed", 0),
            "failed": data.get("counts", {}).get("failed", 0),
            "duration_ms": {k: summary.get(k) for k in ("min", "avg", "p50", "p99", "max") if k in summary},
            "reading_ms": sorted(c["ms"] for c in done if c["trigger_s"] <= until),
            "idle_ms": sorted(c["ms"] for c in done if c["trigger_s"] > until),
            "other_ms": sorted(c["ms"] for c in done) if reading_until is None else [],
            "max_bytes": max((c["bytes"] for c in done), default=None),
        }


def describe_watermark(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= MAX_WATERMARK - 1024:  # Flink reports Long.MAX_VALUE as a double
        return "MAX"
    if value <= -(2**62):
        return "MIN"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(value / 1000))


# --- Kafka --------------------------------------------------------------------------------------


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="flink-starts")
    try:
        # The input keeps its records whatever their (old) publication times: retention.ms=-1.
        admin.create_topics([NewTopic(n, partitions, 1, topic_configs={"retention.ms": "-1"}) for n in names])
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    with contextlib.suppress(Exception):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="flink-starts")
        try:
            admin.delete_topics(names)
        finally:
            admin.close()


class OutputWatch:
    """Counts the records on the output topics (articles and dead letters: one per input)."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.seen = 0
        self.first: float | None = None
        self.last: float | None = None

    def poll(self, timeout_ms: int = 500) -> None:
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            now = time.time()
            self.seen += len(records)
            self.first = self.first or now
            self.last = now

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.consumer.close()


# --- one start ----------------------------------------------------------------------------------


@dataclass
class Start:
    number: int
    verdict: str = "FAILED"
    job_id: str | None = None
    submit_to_running_s: float | None = None
    first_s: float | None = None  # RUNNING -> first output record
    all_s: float | None = None  # RUNNING -> the last of the expected records
    records_out: int = 0
    final_state: str | None = None
    exit_code: int | None = None
    summary: str | None = None
    vertices: list[dict] = field(default_factory=list)
    checkpoints: dict = field(default_factory=dict)
    load: float | None = None  # 1-minute load average at RUNNING (a 2-core machine is easily shared)
    other_jobs: int = 0  # other jobs RUNNING on the cluster meanwhile
    note: str = ""


def marsad_command() -> list[str]:
    script = Path(sys.executable).parent / "marsad"
    if script.exists():
        return [str(script)]
    found = shutil.which("marsad")
    return [found] if found else [sys.executable, "-m", "pipelines.cli"]


def run_start(number: int, args: argparse.Namespace, sample: Path, rest: Rest, logs: Path) -> Start:
    tag = uuid.uuid4().hex[:8]
    source, prefix, group = f"starts-in-{tag}", f"starts-out-{tag}", f"starts-{tag}"
    outputs = [f"{prefix}.{kind}" for kind in OUTPUT_KINDS]
    backfill = any(a.startswith(("--stop-at-end", "--max-records")) for a in args.marsad_args)
    result = Start(number)
    create_topics(args.bootstrap, [source, *outputs], args.partitions)
    replayed = subprocess.run(
        [*marsad_command(), "replay", str(sample), "--topic", source, "--bootstrap", args.bootstrap, "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if replayed.returncode != 0:
        result.note = "replay failed: " + replayed.stderr[-300:]
        delete_topics(args.bootstrap, [source, *outputs])
        return result
    watch = OutputWatch(args.bootstrap, [f"{prefix}.{k}" for k in RECORD_KINDS], args.partitions)
    log = CheckpointLog(rest)
    log_path = logs / f"start-{number:02d}-{tag}.log"
    command = [
        *marsad_command(), "run",
        "--input", f"kafka://{args.bootstrap}/{source}",
        "--output", f"kafka://{args.bootstrap}/{prefix}",
        "--group", group, "--runner", "flink", "--flink-master", args.flink_master,
        f"--checkpointing_interval={args.checkpoint_ms}", *args.marsad_args,
    ]  # fmt: skip
    submitted = time.time()
    with open(log_path, "wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        job = wait_running(rest, f"marsad-{group}-", process, submitted + args.submit_timeout)
        if job is None:
            result.note = f"no RUNNING job within {args.submit_timeout:.0f} s (marsad exit {process.poll()})"
            return result
        result.job_id = log.job_id = job["jid"]
        running_at = rest.get(f"/jobs/{job['jid']}")["timestamps"].get("RUNNING", time.time() * 1000) / 1000
        result.submit_to_running_s = running_at - submitted
        result.load = os.getloadavg()[0]
        with contextlib.suppress(OSError, ValueError):
            jobs = rest.get("/jobs/overview")["jobs"]
            result.other_jobs = sum(1 for j in jobs if j["state"] == "RUNNING" and j["jid"] != job["jid"])
        deadline = running_at + args.deadline
        while watch.first is None and time.time() < deadline and process.poll() is None:
            watch.poll()
            log.sample()
        if watch.first is not None:
            result.verdict = "READ"
            result.first_s = watch.first - running_at
            more = time.time() + (args.end_wait if backfill else args.all_wait)
            while watch.seen < args.articles and time.time() < more and (backfill or process.poll() is None):
                watch.poll()
                log.sample()
            hold = time.time() + (0 if backfill else args.hold)
            while time.time() < hold and process.poll() is None:  # the idle job's checkpoints
                watch.poll()
                log.sample()
        elif process.poll() is None:
            result.verdict = "STALLED"
        else:
            result.note = f"marsad exited with {process.returncode} before any output"
        if watch.seen >= args.articles and watch.last is not None:
            result.all_s = watch.last - running_at
        with contextlib.suppress(OSError, ValueError, KeyError):
            result.vertices = vertices(rest, job["jid"])
        result.checkpoints = log.figures(watch.last if watch.seen >= args.articles else None)
        if backfill and result.verdict == "READ":
            wait_exit(process, args.end_wait - max(0.0, time.time() - (watch.last or time.time())))
            result.exit_code = process.poll()
            result.verdict = "ENDED" if result.exit_code == 0 else "NOT ENDED"
        watch.poll(200)
        result.records_out = watch.seen
    finally:
        watch.close()
        result.final_state = stop_job(rest, result.job_id, process)
        result.exit_code = process.poll() if result.exit_code is None else result.exit_code
        text = log_path.read_text(errors="replace")
        summary = [line.strip() for line in text.splitlines() if line.startswith(("articles read", "  ("))]
        result.summary = " | ".join(summary)[:300] or None
        if not args.keep_topics:
            delete_topics(args.bootstrap, [source, *outputs])
    return result


def wait_running(rest: Rest, prefix: str, process: subprocess.Popen, deadline: float) -> dict | None:
    while time.time() < deadline and process.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            job = rest.job(prefix)
            if job and job["state"] == "RUNNING":
                return job
            if job and job["state"] in TERMINAL:
                return None
        time.sleep(0.5)
    return None


def wait_exit(process: subprocess.Popen, seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(max(1.0, seconds))


def stop_job(rest: Rest, job_id: str | None, process: subprocess.Popen) -> str | None:
    """Cancel the Flink job (no savepoint: nothing of it is needed), then end marsad."""
    state = None
    if job_id is not None:
        with contextlib.suppress(OSError, ValueError):
            state = rest.get(f"/jobs/{job_id}")["state"]
            if state not in TERMINAL:
                rest.patch(f"/jobs/{job_id}?mode=cancel")
        deadline = time.time() + 60
        while time.time() < deadline:
            with contextlib.suppress(OSError, ValueError):
                now = rest.get(f"/jobs/{job_id}")["state"]
                if now in TERMINAL:
                    state = state if state in TERMINAL else f"{state} (cancelled)"
                    break
            time.sleep(0.5)
    wait_exit(process, 20)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        wait_exit(process, 20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the job server marsad started, anything left
    process.wait()
    return state


# --- the run ------------------------------------------------------------------------------------


def write_sample(corpus: Path, target: Path, size: int, stride: int = 31) -> Path:
    """Every 31st article of the corpus (all outlets, months of news), as the tests sample it."""
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rb") as source, target.open("wb") as sink:
        for line in itertools.islice(source, 0, size * stride, stride):
            sink.write(line)
    return target


def median(values: list[float] | None) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(start: Start, out: Any) -> None:
    print(
        f"start {start.number:2d}: {start.verdict:9s} RUNNING after {fmt(start.submit_to_running_s)} s, "
        f"first record {fmt(start.first_s)} s, all {fmt(start.all_s)} s, {start.records_out} out, "
        f"checkpoints {start.checkpoints.get('completed', '-')} (median ms reading "
        f"{median(start.checkpoints.get('reading_ms'))}, idle {median(start.checkpoints.get('idle_ms'))}), "
        f"load {fmt(start.load)}"
        + (f", {start.other_jobs} other jobs" if start.other_jobs else "")
        + f", job {start.job_id} {start.final_state}"
        + (f", marsad exit {start.exit_code}" if start.exit_code is not None else "")
        + (f" — {start.note}" if start.note else ""),
        file=out,
        flush=True,
    )
    if start.verdict not in ("READ", "ENDED") or os.environ.get("FLINK_STARTS_VERBOSE"):
        for vertex in start.vertices:
            if "error" in vertex:
                print(f"    (no figures: {vertex['error']})  {short(vertex['name'])}", file=out, flush=True)
                continue
            print(
                f"    in {vertex['in']:>5} out {vertex['out']:>5} wm {describe_watermark(vertex['watermark']):>16}"
                f"  {short(vertex['name'])}",
                file=out,
                flush=True,
            )
    if start.summary and start.verdict in ("ENDED", "NOT ENDED"):
        print(f"    marsad: {start.summary}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    marsad_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--checkpoint-ms", type=int, default=1000, help="--checkpointing_interval (default 1000)")
    parser.add_argument("--articles", type=int, default=200, help="articles replayed per start (default 200)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSON lines (.gz) to sample articles from")
    parser.add_argument("--deadline", type=float, default=90, help="s after RUNNING for the first record")
    parser.add_argument("--all-wait", type=float, default=60, help="s after the first record to wait for all")
    parser.add_argument("--hold", type=float, default=0, help="s to keep the job running once all are out")
    parser.add_argument("--end-wait", type=float, default=240, help="backfills: s to wait for marsad to exit")
    parser.add_argument("--submit-timeout", type=float, default=240, help="s from submission to RUNNING")
    parser.add_argument("--bootstrap", default=default_bootstrap())
    parser.add_argument("--flink-master", default=os.environ.get("MARSAD_FLINK_MASTER", "localhost:8081"))
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--keep-topics", action="store_true")
    parser.add_argument("--json", type=Path, help="write every start's figures here")
    args = parser.parse_args(argv)
    args.marsad_args = marsad_args
    rest = Rest(args.flink_master)
    try:
        rest.get("/overview")
    except (OSError, urllib.error.URLError) as error:
        print(f"no Flink cluster at {args.flink_master}: {error} (docker/flink/cluster.sh start)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="flink-starts-"))
    sample = write_sample(args.corpus, work / "sample.jsonl", args.articles)
    print(
        f"{args.starts} starts on {args.flink_master}: {args.articles} articles each, checkpoints every "
        f"{args.checkpoint_ms} ms, marsad run {' '.join(marsad_args) or '(no extra options)'}; logs in {work}",
        flush=True,
    )
    starts = []
    for number in range(1, args.starts + 1):
        start = run_start(number, args, sample, rest, work)
        starts.append(start)
        report(start, sys.stdout)
    counts = {v: sum(1 for s in starts if s.verdict == v) for v in ("READ", "STALLED", "FAILED", "ENDED", "NOT ENDED")}
    read = counts["READ"] + counts["ENDED"] + counts["NOT ENDED"]
    line = f"{len(starts)} starts, {read} read, {counts['STALLED']} stalled"
    if counts["FAILED"]:
        line += f", {counts['FAILED']} failed"
    if counts["ENDED"] or counts["NOT ENDED"]:
        line += f"; backfills: {counts['ENDED']} ended (marsad exit 0), {counts['NOT ENDED']} did not"
    firsts = [s.first_s for s in starts if s.first_s is not None]
    alls = [s.all_s for s in starts if s.all_s is not None]
    print(line)
    for what, values in (("first record", firsts), (f"all {args.articles}", alls)):
        if values:
            spread = f"{min(values):.1f}–{max(values):.1f} s"
            print(f"{what} after RUNNING: median {statistics.median(values):.1f} s, {spread}")
    for phase in ("reading", "idle"):
        durations = sorted(c for s in starts for c in s.checkpoints.get(f"{phase}_ms", []))
        if durations:
            p90 = durations[min(len(durations) - 1, int(0.9 * len(durations)))]
            print(
                f"checkpoints while {phase}: {len(durations)}, median {statistics.median(durations):.0f} ms, "
                f"p90 {p90} ms, max {durations[-1]} ms"
            )
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv, "starts": [asdict(s) for s in starts]}, indent=1))
    return 0 if counts["STALLED"] == 0 and counts["FAILED"] == 0 and counts["NOT ENDED"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
