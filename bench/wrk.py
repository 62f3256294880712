"""Drive wrk (32 connections) and read its figures."""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA_CYCLE = r"""
-- Each wrk thread walks its own slice of the prepared requests, so that
-- every request uses a distinct personal link.
local lines = {}
for line in io.lines("%(requests)s") do lines[#lines + 1] = line end
local counter = 0
local thread_index = 0
local threads_total = %(threads)d

function setup(thread)
  thread:set("offset", thread_index)
  thread_index = thread_index + 1
end

function init(args)
  counter = offset
end

function request()
  local i = (counter %% #lines) + 1
  counter = counter + threads_total
  local method, path, body = lines[i]:match("^(%%S+) (%%S+) ?(.*)$")
  local headers = {}
  headers["Cookie"] = "%(cookie)s"
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path, headers, nil)
end
"""


@dataclass(frozen=True)
class Figures:
    name: str
    requests_per_s: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx responses plus socket errors

    def row(self) -> str:
        return f"{self.name:44} {self.requests_per_s:9.0f} req/s   p99 {self.p99_ms:7.1f} ms   {self.requests:7d} requests   {self.errors} errors"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(name: str, base_url: str, request_lines: list[str], *, cookie: str = "",
        connections: int = 32, threads: int = 2, seconds: int = 10) -> Figures:
    """wrk's figures for ``seconds`` of load cycling through ``request_lines`` (a warm-up is a run of its own)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cycle.lua"
        requests_file = Path(tmp) / "requests.txt"
        requests_file.write_text("\n".join(request_lines) + "\n")
        script.write_text(LUA_CYCLE % {"requests": requests_file, "threads": threads, "cookie": cookie})
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
             "-s", str(script), base_url],
            check=True, capture_output=True, text=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    total = _total(output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return Figures(name, rps, _ms(*p99.groups()), total, errors)


@dataclass(frozen=True)
class Paired:
    """Slices of a scenario and of its baseline, measured alternately: A, B, A, B...

    On this shared virtual machine the CPU time a request costs drifts by half
    over minutes (the same code, measured minutes apart), so a scenario and a
    baseline measured one after the other compare two different machines.
    Alternating short slices lets both see the same conditions; the ratio
    reported is the median of the slices' ratios.
    """

    scenario_slices: tuple[Figures, ...]
    baseline_slices: tuple[Figures, ...]

    @property
    def scenario(self) -> Figures:
        return combine(self.scenario_slices)

    @property
    def baseline(self) -> Figures:
        return combine(self.baseline_slices)

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(a.requests_per_s / b.requests_per_s for a, b in zip(self.scenario_slices, self.baseline_slices))

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def row(self, label: str, target: str) -> str:
        slices = ", ".join(f"{r:.1%}" for r in self.ratios)
        return f"{label} {self.ratio:6.1%} (median of {len(self.ratios)} pairs: {slices}) {target}"


def paired(name: str, base_url: str, slices: list[list[str]], baseline_name: str, baseline_url: str,
           baseline_lines: list[str], *, seconds: int) -> Paired:
    """``len(slices)`` pairs of ``seconds`` each: the scenario's i-th slice of requests, then the baseline."""
    ours, theirs = [], []
    for lines in slices:
        ours.append(run(name, base_url, lines, seconds=seconds))
        theirs.append(run(baseline_name, baseline_url, baseline_lines, seconds=seconds))
    return Paired(tuple(ours), tuple(theirs))


def combine(parts: tuple[Figures, ...]) -> Figures:
    """One scenario's slices as one: mean throughput, the worst slice's p99, every request and error."""
    return Figures(parts[0].name, statistics.mean(p.requests_per_s for p in parts), max(p.p99_ms for p in parts),
                   sum(p.requests for p in parts), sum(p.errors for p in parts))


def _total(output: str) -> int:
    return int(re.search(r"(\d+) requests in", output).group(1))
