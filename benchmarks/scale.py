"""Benchmark: scale out, under the deployment the docs recommend.

Ours runs under gunicorn with the example's ``gunicorn.conf.py`` (one worker per CPU,
gthread, 32 threads, preload), without and with the shared billing cache in a real Redis;
the baseline is Flowglad's Node server (``@flowglad/server`` on Express, one process), on
the same upstream in the same run. The upstream is the sandbox in a process of its own,
every answer delayed as a network hop to Flowglad is. The load comes from ``wrk`` in a
process of its own, on keep-alive connections, each request as one of many customers.

Measured per mix of React SDK calls: requests per second, latency percentiles, CPU per
request of the server's processes (from ``/proc``) and upstream calls per request. Then:
CPU per request of a cached billing answer next to a bare Flask view returning the same
JSON; resident memory per worker; time per request as the billing payload grows; and as
the number of feature checks in one request grows.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import requests

from . import outage
from .processes import ServerProcess
from .report import Report, Result
from .serve_upstream import PAYLOAD_SIZES
from .servers import (
    PREFIX,
    gunicorn_server,
    redis_server,
    reference_missing,
    reference_server,
    reference_versions,
    upstream_server,
)

NAME = "scale out (gunicorn, Redis, wrk)"
LUA = Path(__file__).resolve().parent / "mix.lua"
SECRET_KEY = "sk_test_sandbox"
#: The React SDK's calls per mix; page load is what a billing page asks on opening.
MIXES: dict[str, tuple[str, ...]] = {
    "page load": ("customers/billing", "pricing-models/retrieve", "usage-meters/balances"),
    "billing": ("customers/billing",),
    "usage events": ("usage-events/create",),
}
NODE, OURS, CACHED = "Node", "ours", "ours + cache"
#: The deployment measured in the issue before this benchmark: 2 workers, 8 threads each.
BEFORE = "ours, 8 threads"
COLORS = {NODE: "tab:blue", BEFORE: "tab:gray", OURS: "tab:orange", CACHED: "tab:green"}
FEATURE_CHECKS = (0, 1, 10, 100)


@dataclass(frozen=True)
class Settings:
    latency_ms: float = 30.0
    connections: int = 32
    customers: int = 50
    #: Length of one measured wrk run, and of the warm-up before it.
    seconds: int = 5
    warmup_seconds: int = 2
    #: Rounds of the mixes (the payload and feature-check runs have one).
    rounds: int = 3
    #: How long the upstream fails every call in the outage run (0: no outage run).
    outage_seconds: int = 60


@dataclass
class Run:
    """One wrk run against one server."""

    server: str
    mix: str
    requests: int
    req_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    cpu_ms_per_request: float
    upstream_calls_per_request: float


def missing() -> str | None:
    """Why this benchmark cannot run here, or ``None``."""
    for tool, package in (("wrk", "wrk"), ("redis-server", "redis-server")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install -y {package})"
    for module in ("gunicorn", "redis"):
        if find_spec(module) is None:
            return f"{module} is not installed: pip install -e '.[bench]'"
    return reference_missing()


def run(report: Report, settings: Settings) -> tuple[list[Run], dict[str, Any]]:
    """Every run, and the servers' memory; nothing when a tool is missing."""
    reason = missing()
    if reason is not None:
        print(f"skipping '{NAME}': {reason}", flush=True)
        report.skipped.append({"benchmark": NAME, "reason": reason})
        return [], {}
    report.environment["scale"] = {**asdict(settings), "reference": reference_versions()}
    runs: list[Run] = []
    outages: list[outage.Outage] = []
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        upstream = stack.enter_context(upstream_server(settings.latency_ms, settings.customers))
        cache = stack.enter_context(redis_server(directory))
        redis_url = f"redis://127.0.0.1:{cache.port}/0"
        servers = {
            NODE: stack.enter_context(reference_server(upstream.url, SECRET_KEY)),
            OURS: stack.enter_context(
                gunicorn_server("flask-flowglad", "ours", upstream.url, SECRET_KEY)
            ),
            CACHED: stack.enter_context(
                gunicorn_server(
                    "flask-flowglad + Redis", "ours", upstream.url, SECRET_KEY, redis_url
                )
            ),
        }
        before = stack.enter_context(
            gunicorn_server(BEFORE, "ours", upstream.url, SECRET_KEY, threads=8)
        )
        bare = stack.enter_context(gunicorn_server("bare Flask", "bare", upstream.url, SECRET_KEY))
        probe = _Probe(upstream.url, settings)

        for mix, actions in MIXES.items():
            contenders = [*servers.items(), (BEFORE, before)]
            if mix == "billing":
                contenders.append(("bare Flask", bare))
            paths = [f"{PREFIX}/{action}" for action in actions]
            print(f"  {mix}: {', '.join(name for name, _ in contenders)} ...", flush=True)
            runs += probe.compare(mix, contenders, paths)

        memory = {"after the mixes": _memory(servers, bare)}
        runs += _growth(probe, servers)
        memory["after every run"] = _memory(servers, bare)
        if settings.outage_seconds:
            outages.append(_outage(stack, probe, upstream.url, redis_url))
            runs += [outages[0].before, outages[0].during, outages[0].after]
        # Each is a time the cache was skipped for a few seconds (a timeout under load).
        failures = servers[CACHED].stderr_text().count("shared billing cache failed")
    report.environment["scale"]["cache_failures"] = failures
    if failures:
        report.findings.append(
            f"the shared billing cache failed {failures} times (see cache_failures): each"
            " time, that worker read billing upstream for a few seconds"
        )
    report.environment["scale"]["memory_mib"] = memory
    report.environment["scale"]["runs"] = [asdict(r) for r in runs]
    if outages:
        report.environment["scale"]["outage"] = {
            "recovered_s": outages[0].recovered_s,
            "failed_upstream_calls": outages[0].failed_calls,
            "verdicts": outage.verdicts(outages[0]),
        }
    report.results += _results(runs, memory)
    return runs, memory


def _growth(probe: _Probe, servers: dict[str, ServerProcess]) -> list[Run]:
    """Billing as the payload grows, and a view as its feature checks grow."""
    runs: list[Run] = []
    for size in PAYLOAD_SIZES:
        print(f"  billing with {size} more invoices ...", flush=True)
        runs += probe.compare(
            f"billing, +{size} invoices",
            list(servers.items()),
            [f"{PREFIX}/customers/billing"],
            user=f"big-{size}-",
            customers=1,
            rounds=1,
        )
    for checks in FEATURE_CHECKS:
        print(f"  {checks} feature checks: {CACHED} ...", flush=True)
        runs += probe.compare(
            f"{checks} feature checks",
            [(CACHED, servers[CACHED])],
            [f"/bench/features/{checks}"],
            rounds=1,
        )
    return runs


def _outage(stack: ExitStack, probe: _Probe, upstream_url: str, redis_url: str) -> outage.Outage:
    """The outage run, on a deployment of its own whose TTL is short."""
    seconds = probe.settings.outage_seconds
    print(f"  Flowglad down for {seconds} s: {CACHED} ...", flush=True)
    server = stack.enter_context(
        gunicorn_server(
            "flask-flowglad + Redis, short TTL",
            "ours",
            upstream_url,
            SECRET_KEY,
            redis_url,
            env={"FLOWGLAD_BILLING_CACHE_TTL": str(outage.ttl_for(seconds))},
        )
    )
    return outage.run(probe, server, upstream_url, seconds)


def _memory(servers: dict[str, ServerProcess], bare: ServerProcess) -> dict[str, Any]:
    """Resident MiB of Node's process and of each gunicorn worker."""
    return {
        NODE: servers[NODE].rss_mib(),
        OURS: servers[OURS].children_rss_mib(),
        CACHED: servers[CACHED].children_rss_mib(),
        "bare Flask": bare.children_rss_mib(),
    }


def _combine(name: str, mix: str, rounds: list[Run]) -> Run:
    """One run from several rounds: totals and request-weighted means, the median
    round's percentiles."""
    requests = sum(r.requests for r in rounds)
    seconds = sum(r.requests / r.req_per_s for r in rounds if r.req_per_s)
    weight = max(1, requests)
    return Run(
        server=name,
        mix=mix,
        requests=requests,
        req_per_s=requests / seconds if seconds else 0.0,
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        mean_ms=sum(r.mean_ms * r.requests for r in rounds) / weight,
        errors=sum(r.errors for r in rounds),
        cpu_ms_per_request=sum(r.cpu_ms_per_request * r.requests for r in rounds) / weight,
        upstream_calls_per_request=sum(r.upstream_calls_per_request * r.requests for r in rounds)
        / weight,
    )


class _Probe:
    """Runs wrk against a server, with the server's CPU and the upstream's calls around it."""

    def __init__(self, upstream_url: str, settings: Settings) -> None:
        self.upstream_url = upstream_url
        self.settings = settings

    def compare(
        self,
        mix: str,
        contenders: list[tuple[str, ServerProcess]],
        paths: list[str],
        *,
        user: str = "bench-",
        customers: int | None = None,
        rounds: int | None = None,
    ) -> list[Run]:
        """Each contender in turn, for several short rounds in alternating order, so a
        burst of load from elsewhere on the machine weighs on all of them alike."""
        parts: dict[str, list[Run]] = {name: [] for name, _ in contenders}
        for round_ in range(rounds or self.settings.rounds):
            order = contenders if round_ % 2 == 0 else contenders[::-1]
            for name, server in order:
                parts[name].append(
                    self.measure(
                        name, mix, server, paths, user, customers or self.settings.customers
                    )
                )
        return [_combine(name, mix, runs) for name, runs in parts.items()]

    def measure(
        self,
        name: str,
        mix: str,
        server: ServerProcess,
        paths: list[str],
        user: str,
        customers: int,
    ) -> Run:
        """One wrk run after a warm-up, with the server's CPU and the upstream's calls."""
        self._wrk(server, paths, user, customers, self.settings.warmup_seconds)
        return self.measure_for(name, mix, server, paths, self.settings.seconds, user, customers)

    def measure_for(
        self,
        name: str,
        mix: str,
        server: ServerProcess,
        paths: list[str],
        seconds: int,
        user: str = "bench-",
        customers: int | None = None,
    ) -> Run:
        """One wrk run of ``seconds``, no warm-up, with the server's CPU and the upstream's
        calls."""
        customers = customers or self.settings.customers
        cpu, calls = server.cpu_seconds(), self._upstream_calls()
        result = self._wrk(server, paths, user, customers, seconds)
        cpu, calls = server.cpu_seconds() - cpu, self._upstream_calls() - calls
        done = max(1, result["requests"])
        return Run(
            server=name,
            mix=mix,
            requests=result["requests"],
            req_per_s=result["requests"] / (result["duration_us"] / 1e6),
            p50_ms=result["p50_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            mean_ms=result["mean_us"] / 1000,
            errors=result["status_errors"] + result["socket_errors"],
            cpu_ms_per_request=cpu * 1000 / done,
            upstream_calls_per_request=calls / done,
        )

    def _wrk(
        self, server: ServerProcess, paths: list[str], user: str, customers: int, seconds: int
    ) -> dict[str, Any]:
        connections = self.settings.connections
        argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
        argv += ["-s", str(LUA), server.url, "--", str(customers), user, uuid.uuid4().hex[:12]]
        done = subprocess.run(argv + paths, capture_output=True, text=True, timeout=seconds + 60)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def _upstream_calls(self) -> int:
        calls: int = requests.get(f"{self.upstream_url}/_bench/calls", timeout=10).json()["calls"]
        return calls


# -- the verdict -----------------------------------------------------------------------


def by_key(runs: list[Run]) -> dict[tuple[str, str], Run]:
    return {(r.mix, r.server): r for r in runs}


def targets(runs: list[Run]) -> list[tuple[str, str, bool]]:
    """Each target of the issues (scale out, then issue 20's): what it asks, what was
    measured, whether it was met."""
    got = by_key(runs)
    verdicts: list[tuple[str, str, bool]] = []
    for mix in MIXES:
        node, ours, cached = (got[(mix, s)] for s in (NODE, OURS, CACHED))
        ratio = _ratio(ours.req_per_s, node.req_per_s)
        verdicts.append(
            (f"{mix}: req/s >= 1.5x Node without the cache", f"{ratio:.2f}x", ratio >= 1.5)
        )
        ratio = _ratio(cached.req_per_s, node.req_per_s)
        goal = 1.3 if mix == "usage events" else 4.0
        verdicts.append(
            (f"{mix}: req/s >= {goal:g}x Node with the cache", f"{ratio:.2f}x", ratio >= goal)
        )
        ratio = _ratio(cached.req_per_s, ours.req_per_s)
        verdicts.append(
            (f"{mix}: req/s with the cache >= 1.0x without", f"{ratio:.2f}x", ratio >= 1.0)
        )
        verdicts.append(
            (
                f"{mix}: p99 with the cache no worse than without",
                f"{cached.p99_ms:.1f} vs {ours.p99_ms:.1f} ms",
                cached.p99_ms <= ours.p99_ms,
            )
        )
        for run_ in (ours, cached):
            verdicts.append(
                (
                    f"{mix}: p99 below Node's ({run_.server})",
                    f"{run_.p99_ms:.1f} vs {node.p99_ms:.1f} ms",
                    run_.p99_ms < node.p99_ms,
                )
            )
    for size in PAYLOAD_SIZES:
        mix = f"billing, +{size} invoices"
        if (mix, NODE) not in got:
            continue
        node, ours, cached = (got[(mix, s)] for s in (NODE, OURS, CACHED))
        for run_, goal in ((ours, 1.0), (cached, 4.0)):
            ratio = _ratio(run_.req_per_s, node.req_per_s)
            verdicts.append(
                (f"{mix}: req/s >= {goal:g}x Node ({run_.server})", f"{ratio:.2f}x", ratio >= goal)
            )
    cached, bare = got[("billing", CACHED)], got[("billing", "bare Flask")]
    ratio = _ratio(cached.cpu_ms_per_request, bare.cpu_ms_per_request)
    verdicts.append(
        ("cached billing: CPU/request <= 1.3x bare Flask", f"{ratio:.2f}x", ratio <= 1.3)
    )
    if ("0 feature checks", CACHED) in got:
        none = got[("0 feature checks", CACHED)].cpu_ms_per_request
        for checks in FEATURE_CHECKS[1:]:
            extra = got[(f"{checks} feature checks", CACHED)].cpu_ms_per_request - none
            verdicts.append(
                (
                    f"{checks} feature checks: <= +0.3 ms CPU over none",
                    f"{extra:+.2f} ms",
                    extra <= 0.3,
                )
            )
    return verdicts


def table(
    runs: list[Run],
    memory: dict[str, Any] | None = None,
    outage_verdicts: list[tuple[str, str, bool]] | None = None,
) -> str:
    header = (
        "mix",
        "server",
        "req/s",
        "x Node",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "up/req",
        "err",
    )
    got = by_key(runs)
    rows = []
    for r in runs:
        node = got.get((r.mix, NODE))
        speed = _times(r.req_per_s, node.req_per_s) if node else ""
        rows.append(
            (
                r.mix,
                r.server,
                f"{r.req_per_s:.0f}",
                speed,
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.cpu_ms_per_request:.2f}",
                f"{r.upstream_calls_per_request:.2f}",
                str(r.errors),
            )
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    for moment, sizes in (memory or {}).items():
        shown = "; ".join(
            f"{name} {_mib(value)}" for name, value in sizes.items() if value is not None
        )
        lines.append(f"resident MiB {moment}: {shown}")
    lines.append("")
    for goal, measured, met in [*targets(runs), *(outage_verdicts or [])]:
        lines.append(f"{'met    ' if met else 'NOT met'}  {goal}: {measured}")
    return "\n".join(lines)


def _mib(value: float | list[float]) -> str:
    if isinstance(value, list):
        return "workers " + ", ".join(f"{v:.0f}" for v in value)
    return f"{value:.0f}"


def _ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("inf")


def _times(value: float, baseline: float) -> str:
    return f"{_ratio(value, baseline):.2f}"


def _results(runs: list[Run], memory: dict[str, Any]) -> list[Result]:
    """Rows for results.json, lower-is-better like every other row."""
    got = by_key(runs)
    baseline = "@flowglad/server on Express, Node, 1 process"
    results = []
    for mix in MIXES:
        node = got[(mix, NODE)]
        for name in (OURS, CACHED):
            mine = got[(mix, name)]
            results.append(
                Result(
                    f"scale, {mix}: wall ms per request ({name})",
                    "1000 / requests per second under wrk, 32 keep-alive connections,"
                    " gunicorn as the example ships it",
                    "ms",
                    _ms_per_request(mine),
                    _ms_per_request(node),
                    baseline,
                    {"p99_ms": {"ours": mine.p99_ms, "baseline": node.p99_ms}},
                )
            )
    cached, bare = got[("billing", CACHED)], got[("billing", "bare Flask")]
    results.append(
        Result(
            "scale, cached billing: CPU ms per request",
            "utime + stime of gunicorn's master and workers per billing request",
            "ms",
            cached.cpu_ms_per_request,
            bare.cpu_ms_per_request,
            "a bare Flask view returning the same JSON, same gunicorn settings",
        )
    )
    for name in (OURS, CACHED):
        at_rest = memory["after the mixes"]
        results.append(
            Result(
                f"scale: RSS per worker ({name})",
                "resident memory of the largest gunicorn worker after the three mixes,"
                " against the one Node process",
                "MiB",
                max(at_rest[name] or [0.0]),
                at_rest[NODE],
                baseline,
                {"mib": memory},
            )
        )
    return results


def _ms_per_request(run_: Run) -> float:
    return 1000 / run_.req_per_s if run_.req_per_s else float("inf")


def _mean_or_nan(run_: Run) -> float:
    return run_.mean_ms if run_.requests else float("nan")


def plot(runs: list[Run], path: Path) -> Path | None:
    """Four panels: req/s and p99 per mix, time as the payload and checks grow."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -e '.[bench]')")
        return None
    got = by_key(runs)
    servers = (NODE, OURS, CACHED)
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    mixes = list(MIXES)
    width = 0.2
    for panel, field, title in (
        (axes[0][0], "req_per_s", "requests per second (higher is better)"),
        (axes[0][1], "p99_ms", "p99 latency, ms (lower is better)"),
    ):
        for i, server in enumerate((NODE, BEFORE, OURS, CACHED)):
            values = [getattr(got[(mix, server)], field) for mix in mixes]
            offsets = [x + (i - 1.5) * width for x in range(len(mixes))]
            panel.bar(offsets, values, width, label=server, color=COLORS[server])
        panel.set_xticks(range(len(mixes)), mixes)
        panel.set_title(title)
        panel.legend()
    panel = axes[1][0]
    for server in servers:
        values = [
            _mean_or_nan(got[(f"billing, +{size} invoices", server)]) for size in PAYLOAD_SIZES
        ]
        panel.plot(PAYLOAD_SIZES, values, marker="o", label=server, color=COLORS[server])
    panel.set_xscale("log")
    panel.set_yscale("log")
    panel.set_xlabel("extra invoices in the billing payload")
    panel.set_title("billing: mean ms per request")
    panel.legend()
    panel = axes[1][1]
    values = [got[(f"{n} feature checks", CACHED)].cpu_ms_per_request for n in FEATURE_CHECKS]
    panel.plot(FEATURE_CHECKS, values, marker="o", label=CACHED, color=COLORS[CACHED])
    panel.set_xlabel("feature checks in one request")
    panel.set_title("CPU ms per request")
    panel.legend()
    figure.suptitle("flask-flowglad under gunicorn vs @flowglad/server on Node, same upstream")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
