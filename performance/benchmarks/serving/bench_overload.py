"""Overload behaviour of three serving topologies under the same open-loop load, in one run.

    .venv/bin/python performance/benchmarks/serving/bench_overload.py --tracking-uri sqlite:///data/mlflow.db
    .venv/bin/python performance/benchmarks/serving/bench_overload.py --quick   # 3 s per rate, to check the harness

Topologies (``--topologies``):

- ``direct``: one ``tripcast serve`` worker (uvloop + httptools + the shedding protocol, default bounds)
  on the server CPU: in-process admission.
- ``proxy1`` / ``proxy2``: HAProxy with the repository's ``deployment/proxy/haproxy.cfg`` in front of 1 or
  2 workers (each its own process and port, in-process loop-busy/lag shedding off as in
  ``deployment/proxy/worker.env``): admission in C, at most ``maxconn`` requests per worker, the rest
  queued briefly in HAProxy and refused with a fast 503.

For each topology the benchmark measures its capacity (a closed loop that keeps its workers fed without
any refusal: 32 connections to a worker without shedding; through the proxy, maxconn + maxqueue/2 per
worker), then offers ``--multiples`` of that capacity open-loop for ``--duration`` seconds
each over 256 keep-alive connections (``loadgen.py``: latency from the due time, so queueing is charged),
and reports goodput, refusals, accepted p50/p99, where the refusals came from (worker metrics vs proxy)
and ``/proc/loadavg`` at each run (the machine is shared). Pinning: the generator on the first CPU, the
server side on the others (``split_cpus``); with 2 workers the second worker shares the generator's CPU.
Writes ``performance/reports/overload_topologies.md``. Reuses ``bench_http.py``'s registry, payload and
server helpers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import ROOT, Server, ensure_champion, free_port, optimize, payloads, split_cpus, tripcast_server
from loadgen import RunResult, run_closed_loop, run_open_loop

REPORT = ROOT / "performance" / "reports" / "overload_topologies.md"
HAPROXY_CONFIG = ROOT / "deployment" / "proxy" / "haproxy.cfg"
WORKER_ENV = ROOT / "deployment" / "proxy" / "worker.env"
REJECTED = re.compile(r'^tripcast_http_requests_rejected_total\{reason="([^"]+)"\} ([0-9.e+]+)$', re.M)


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg shows them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines of a shipped environment file (comments and blanks skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#")
    return {name.strip(): value.strip() for name, value in pairs}


@dataclass
class Topology:
    """A running topology: where to send load, which workers to ask for their refusal counts."""

    name: str
    url: str
    worker_urls: list[str]
    servers: list[Server]
    admits: int  # requests it serves at once (closed-loop connections for the capacity probe)
    notes: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def worker_refusals(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for url in self.worker_urls:
            for reason, value in REJECTED.findall(httpx.get(f"{url}/metrics", timeout=10).text):
                total[reason] = total.get(reason, 0.0) + float(value)
        return total


@contextmanager
def direct(env: dict[str, str], work: Path, cpus: set[int] | None, **overrides: str) -> Iterator[Topology]:
    port = free_port()
    with tripcast_server(env, port, work, cpus, **overrides) as server:
        url = f"http://127.0.0.1:{port}"
        yield Topology("direct, 1 worker", url, [url], [server], admits=int(overrides.get("max_in_flight", 8)))


@contextmanager
def proxied(
    env: dict[str, str], work: Path, workers: int, cpu_sets: list[set[int] | None], proxy: dict[str, str]
) -> Iterator[Topology]:
    """``workers`` Tripcast workers behind HAProxy (``proxy``: the config's TRIPCAST_* variables)."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise SystemExit("haproxy is not installed: apt-get install -y haproxy")
    worker_env = {**env, **env_file(WORKER_ENV)}
    with ExitStack() as stack:
        urls, servers = [], []
        for i in range(workers):
            port = free_port()
            log_dir = work / f"worker{i + 1}"
            log_dir.mkdir(exist_ok=True)
            servers.append(stack.enter_context(tripcast_server(worker_env, port, log_dir, cpu_sets[i % len(cpu_sets)])))
            urls.append(f"http://127.0.0.1:{port}")
        bind = f"127.0.0.1:{free_port()}"
        variables = {
            **proxy,
            "TRIPCAST_PROXY_BIND": bind,
            **{f"TRIPCAST_WORKER_{i + 1}": url.removeprefix("http://") for i, url in enumerate(urls)},
        }
        command = [haproxy, "-db", "-f", str(HAPROXY_CONFIG)]
        servers.append(
            stack.enter_context(
                Server(
                    "haproxy",
                    command,
                    {**os.environ, **variables},
                    f"http://{bind}/health/ready",
                    work / "haproxy.log",
                    cpu_sets[0],
                )
            )
        )
        maxconn = int(proxy.get("TRIPCAST_WORKER_MAXCONN", "4"))
        notes = ", ".join(f"{k.removeprefix('TRIPCAST_').lower()}={v}" for k, v in sorted(proxy.items()))
        # Capacity probe: what the workers admit plus half their queue bound, so requests always wait in
        # HAProxy's queue (~8 ms, below its timeout) and a worker never idles while answers travel back.
        admits = (maxconn + int(proxy.get("TRIPCAST_WORKER_MAXQUEUE", "32")) // 2) * workers
        yield Topology(f"HAProxy + {workers} worker(s)", f"http://{bind}", urls, servers, admits, notes)


def probe_capacity(topology: Topology, trips: list[dict[str, Any]], seconds: float) -> float:
    """Goodput of a closed loop at the topology's own concurrency: its capacity without any refusal."""
    url = f"{topology.url}/v1/predictions"
    run_open_loop(url, trips, 50, 1.0)  # warm-up: connections, caches, lazy imports
    result = run_closed_loop(url, trips, seconds, connections=topology.admits)
    print(f"{topology.name}: capacity probe {json.dumps(result.summary())}", flush=True)
    if result.share(503):
        print(f"  warning: {result.share(503):.1%} refused during the capacity probe", flush=True)
    return result.achieved_rps


def measure(
    topology: Topology, trips: list[dict[str, Any]], multiples: list[float], capacity_rps: float, duration: float,
    connections: int,
) -> None:  # fmt: skip
    url = f"{topology.url}/v1/predictions"
    run_open_loop(url, trips, 50, 1.0)  # warm-up: connections, caches, lazy imports
    print(f"{topology.name}: capacity {capacity_rps:.0f} rps (load {loadavg()})", flush=True)
    for multiple in multiples:
        rate = multiple * capacity_rps
        refused_before = topology.worker_refusals()
        cpu_before = topology.cpu_seconds()
        load = loadavg()
        result = run_open_loop(url, trips, rate, duration, connections=connections)
        cpu = (topology.cpu_seconds() - cpu_before) / result.duration_s
        refused_after = topology.worker_refusals()
        by_worker = {k: v - refused_before.get(k, 0.0) for k, v in refused_after.items()}
        topology.rows.append(row(multiple, capacity_rps, result, by_worker, cpu, load))
        print(f"  {multiple:g}x {json.dumps(topology.rows[-1])}", flush=True)


def row(
    multiple: float, capacity: float, result: RunResult, by_worker: dict[str, float], cpu: float, load: str
) -> dict[str, Any]:
    in_worker = sum(v for k, v in by_worker.items() if k not in {"timeout", "body_too_large"})
    return {
        "multiple": multiple,
        "capacity": round(capacity),
        "offered": round(result.offered_rps),
        "written": round(result.achieved_offered_rps),
        "goodput": round(result.achieved_rps),
        "goodput_of_capacity": round(result.achieved_rps / capacity, 3),
        "refused_share": round(result.share(503), 4),
        "refused_by_worker": int(in_worker),
        "worker_reasons": {k: int(v) for k, v in by_worker.items() if v},
        "other_failures": round(1 - result.success_rate - result.share(503), 4),
        "p50_ms": round(result.percentile(50), 1),
        "p99_ms": round(result.percentile(99), 1),
        "send_lag_p99_ms": round(result.send_lag_percentile(99), 1),
        "server_cpu": round(cpu, 2),
        "generator_cpu": round(result.generator_cpu_share, 2),
        "loadavg": load,
    }


def report(topologies: list[Topology], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['when']} ({os.cpu_count()} shared cores; {meta['placement']}), {meta['duration']:g} s per "
        f"rate, {meta['connections']} keep-alive connections, model {meta['model']} v{meta['version']}. "
        f"Capacity: {meta['capacity_source']}. Latency from the due time (open "
        "loop), accepted requests only. `loadavg` is /proc/loadavg (1, 5, 15 min) when the rate started.",
        "",
        "| topology | x capacity | offered rps | goodput rps | goodput / capacity | refused (503) | of which by "
        "Python | other failures | accepted p50 / p99 ms | server CPU | loadavg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for topology in topologies:
        for r in topology.rows:
            lines.append(
                f"| {topology.name} (capacity {r['capacity']}) | {r['multiple']:g} | {r['offered']} | {r['goodput']} | "
                f"{r['goodput_of_capacity']:.0%} | {r['refused_share']:.2%} | {r['refused_by_worker']} | "
                f"{r['other_failures']:.2%} | {r['p50_ms']} / {r['p99_ms']} | {r['server_cpu']} | {r['loadavg']} |"
            )
    lines += ["", *(f"- {t.name}: {t.notes}" for t in topologies if t.notes)]
    lines += ["", "Raw rows:", "", "```", *(json.dumps({"topology": t.name, **r}) for t in topologies for r in t.rows)]
    lines += ["```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="MLflow registry URI (default: a fresh temporary SQLite, trained here)")
    parser.add_argument("--model-name", default="trip-duration")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nyc-taxi")
    parser.add_argument("--topologies", default="direct,proxy1,proxy2")
    parser.add_argument("--multiples", default="0.5,0.7,1,3", help="offered load as multiples of capacity")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--capacity-duration", type=float, default=5.0)
    parser.add_argument("--capacity", type=float, help="skip the capacity probe: use this rps for every topology")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="3 s per rate and per capacity probe")
    parser.add_argument("--worker-maxconn", default="4", help="HAProxy maxconn per worker")
    parser.add_argument("--worker-maxqueue", default="32", help="HAProxy maxqueue per worker")
    parser.add_argument("--queue-timeout", default="20ms", help="HAProxy timeout queue")
    parser.add_argument("--direct-env", default="", help="TRIPCAST_X=v,... for the direct worker (e.g. bounds)")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args()
    if args.quick:
        args.duration = args.capacity_duration = 3.0
    multiples = [float(m) for m in args.multiples.split(",")]
    with tempfile.TemporaryDirectory(prefix="tripcast-overload-") as scratch:
        work = Path(scratch)
        tracking_uri = args.tracking_uri or f"sqlite:///{work / 'mlflow.db'}"
        version = ensure_champion(tracking_uri, args.model_name, args.data, 100)
        optimize(tracking_uri, args.model_name, version)
        trips, _ = payloads(args.data)
        pinned = split_cpus()
        server_cpus, generator_cpus = (pinned[0], pinned[1]) if pinned else (None, None)
        if generator_cpus:
            os.sched_setaffinity(0, generator_cpus)
        env = {
            # Each worker keeps its own metrics (a multiprocess directory would merge them).
            **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
            "TRIPCAST_MLFLOW_TRACKING_URI": tracking_uri,
            "TRIPCAST_MODEL_NAME": args.model_name,
            "TRIPCAST_DATA_DIR": str(work),
            "TRIPCAST_CACHE_SIZE": "0",  # the model path, not cache hits on repeated trips
        }
        direct_overrides = dict(kv.split("=", 1) for kv in args.direct_env.split(",") if kv)
        proxy = {
            "TRIPCAST_WORKER_MAXCONN": args.worker_maxconn,
            "TRIPCAST_WORKER_MAXQUEUE": args.worker_maxqueue,
            "TRIPCAST_QUEUE_TIMEOUT": args.queue_timeout,
        }
        done: list[Topology] = []
        for name in args.topologies.split(","):
            if name == "direct":
                overrides = {k.removeprefix("TRIPCAST_").lower(): v for k, v in direct_overrides.items()}
                capacity = args.capacity
                if not capacity:  # the same worker with no shedding at all, kept fed by 32 connections
                    unbounded = {**overrides, "max_loop_busy": "0", "max_loop_lag_ms": "0", "max_in_flight": "256"}
                    with direct(env, work, server_cpus, **unbounded, max_burst_in_flight="0") as probe:
                        probe.admits = 32
                        capacity = probe_capacity(probe, trips, args.capacity_duration)
                with direct(env, work, server_cpus, **overrides) as topology:
                    measure(topology, trips, multiples, capacity, args.duration, args.connections)
            else:
                workers = int(name.removeprefix("proxy"))
                cpu_sets: list[set[int] | None] = [server_cpus, generator_cpus] if workers > 1 else [server_cpus]
                with proxied(env, work, workers, cpu_sets, proxy) as topology:
                    capacity = args.capacity or probe_capacity(topology, trips, args.capacity_duration)
                    measure(topology, trips, multiples, capacity, args.duration, args.connections)
            done.append(topology)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "duration": args.duration,
        "connections": args.connections,
        "capacity_source": (
            f"{args.capacity:g} rps for every topology (--capacity)"
            if args.capacity
            else "closed-loop goodput with the workers kept fed and nothing refused"
        ),
        "model": args.model_name,
        "version": version,
        "placement": (
            f"generator on CPU {sorted(generator_cpus)}, server side (worker 1, HAProxy) on CPU {sorted(server_cpus)}, "
            f"a second worker on CPU {sorted(generator_cpus)}"
            if server_cpus and generator_cpus
            else "placed by the scheduler"
        ),
    }
    text = report(done, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
