"""Load benchmark of the production setup on loopback: gunicorn (docker/entrypoint.sh with
ENVIRONMENT=production, gthread workers), a fresh MariaDB database (dropped afterwards), the
stand-in OpenML server (in this process) and a capturing SMTP server, driven by `wrk`.

Scenarios (each bounded by --seconds; wrk stops by itself):
  health         GET /health
  cached_stats   GET /api/v1/datasets/61/stats (computed once before), Accept-Encoding: gzip
  cached_stats4  the same with 4 connections (service time rather than queueing)
  cached_page    GET /datasets/61, the dataset page of the same cached statistics, gzip
  cached_page4   the same with 4 connections
  cold_stats     GET .../stats?force_refresh=true over datasets 2, 30, 61 with
                 STATS_REFRESH_INTERVAL tiny: every request recomputes (or joins one in flight)
  login_ok       POST /api/v1/auth/login with the right password (production password hashing)
  login_wrong    POST /api/v1/auth/login with wrong passwords for one account: after
                 LOGIN_MAX_PER_ACCOUNT answers 401 the throttle must answer 429 (expected)
Prints requests/s, p50, p99, expected and unexpected answers per scenario, the throttle
check, and the ratios cached_stats / health and cached_page / cached_stats requests/s
measured in this run.
Targets: no unexpected answer; p99 of cached_stats < 20 ms at 32 connections; the page serves
at least 50% of the JSON's requests/s.

Every client comes from 127.0.0.1, so the per-address login limit is raised for the run
(LOGIN_MAX_PER_ADDRESS); the per-account limit keeps its production value.

Needs: MariaDB (TEST_MARIADB_URL, default root@127.0.0.1:3306) and wrk
(Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`).
Usage: python bench/load.py [--seconds 8] [--connections 32] [--workers 4] [--only health,cached_page]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PASSWORD = "bench password that is long enough"
EMAIL = "bench@example.org"
# The wrong passwords go to another account: a correct login of EMAIL still in flight when
# its scenario ends would reset EMAIL's counter (a success forgets the failures).
TARGET_EMAIL = "target@example.org"
COLD_DATASETS = (2, 30, 61)
CACHED_DATASET = 61
WRK_TIMEOUT = "5s"

LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  statuses = {}
  paths = {%(paths)s}
  n = 0
  wrk.method = "%(method)s"
  %(body)s
  %(headers)s
end
function request()
  n = n + 1
  return wrk.format(nil, paths[(n %% #paths) + 1])
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do counts[status] = (counts[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(counts) do table.insert(parts, string.format('"%%d": %%d', status, count)) end
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"socket_errors": %%d, "statuses": {%%s}}\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ", ")))
end
"""


def lua_script(paths: list[str], method: str = "GET", body: str | None = None,
               headers: dict[str, str] | None = None) -> str:
    return LUA % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "method": method,
        "body": f"wrk.body = {json.dumps(body)}" if body is not None else "",
        "headers": "\n  ".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items()),
    }


def run_wrk(url: str, script: str, seconds: int, connections: int, scratch: Path, name: str) -> dict:
    """Run wrk for `seconds` with `connections`; return its RESULT line as a dict."""
    script_path = scratch / f"{name}.lua"
    script_path.write_text(script)
    threads = max(1, min(2, connections))
    completed = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", WRK_TIMEOUT,
         "-s", str(script_path), url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    match = re.search(r"^RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or not match:
        raise SystemExit(f"wrk failed ({completed.returncode}): {completed.stdout}\n{completed.stderr}")
    result = json.loads(match.group(1))
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def scrape(server) -> dict:
    from tests.helpers import parse_metrics

    return parse_metrics(server.scrape())


def confirmed_account(server, mailbox, email: str) -> None:
    """Sign up through the API and confirm with the emailed link, as a user would."""
    from tests.helpers import token_from

    answer = server.http("POST", "/api/v1/auth/signup",
                         json={"email": email, "password": PASSWORD, "first_name": "B", "last_name": "M"})
    assert answer.status_code == 202, answer.text
    token = token_from(mailbox.wait_for(email, 1, timeout=30)[-1])
    assert server.http("POST", "/api/v1/auth/confirm", json={"token": token}).status_code == 200
    assert server.http("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=8, help="duration of each scenario (default 8)")
    parser.add_argument("--connections", type=int, default=32, help="connections for health and cached stats")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (prod ConfigMap: 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (entrypoint default: 4)")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default: all)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu) or brew install wrk (macOS)")

    from sqlalchemy.engine import make_url

    from tests.helpers import fresh_mariadb_database
    from tests.helpers import metric_value as value
    from tests.servers import gunicorn, migrate, production_environment, smtp_server, standin_openml_server

    with tempfile.TemporaryDirectory(prefix="openml-backend-load-") as scratch_name, \
            standin_openml_server() as openml, \
            smtp_server() as smtp, \
            fresh_mariadb_database("openml_backend_load") as uri:
        scratch = Path(scratch_name)
        database_uri = make_url(uri).set(drivername="mysql").render_as_string(hide_password=False)
        env = production_environment(
            scratch, database_uri, openml.api_url, GUNICORN_WORKERS=str(args.workers),
            GUNICORN_THREADS=str(args.threads), SMTP_PORT=str(smtp.port), STATS_REFRESH_INTERVAL="0.001",
            LOGIN_MAX_PER_ACCOUNT="5", LOGIN_MAX_PER_ADDRESS="1000000", OPENML_TIMEOUT="30",
        )
        migrate(env)
        with gunicorn(env, scratch / "server.log") as server:
            server.wait_for_children(args.workers, 60)
            for dataset in COLD_DATASETS:
                answer = server.http("GET", f"/api/v1/datasets/{dataset}/stats", timeout=120)
                assert answer.status_code == 200, answer.text
            confirmed_account(server, smtp.mailbox, EMAIL)
            confirmed_account(server, smtp.mailbox, TARGET_EMAIL)
            limit = int(env["LOGIN_MAX_PER_ACCOUNT"])
            login = "/api/v1/auth/login"
            json_headers = {"Content-Type": "application/json"}
            scenarios = [
                ("health", lua_script(["/health"]), args.connections, {200}),
                ("cached_stats", lua_script([f"/api/v1/datasets/{CACHED_DATASET}/stats"],
                                            headers={"Accept-Encoding": "gzip"}), args.connections, {200}),
                # The same at 4 connections: service time with little queueing.
                ("cached_stats4", lua_script([f"/api/v1/datasets/{CACHED_DATASET}/stats"],
                                             headers={"Accept-Encoding": "gzip"}), 4, {200}),
                ("cached_page", lua_script([f"/datasets/{CACHED_DATASET}"], headers={"Accept-Encoding": "gzip"}),
                 args.connections, {200}),
                ("cached_page4", lua_script([f"/datasets/{CACHED_DATASET}"], headers={"Accept-Encoding": "gzip"}),
                 4, {200}),
                ("cold_stats", lua_script([f"/api/v1/datasets/{d}/stats?force_refresh=true" for d in COLD_DATASETS],
                                          headers={"Accept-Encoding": "gzip"}), 3, {200}),
                ("login_ok", lua_script([login], "POST", json.dumps({"email": EMAIL, "password": PASSWORD}),
                                        json_headers), 4, {200}),
                ("login_wrong", lua_script([login], "POST",
                                           json.dumps({"email": TARGET_EMAIL, "password": "wrong " + PASSWORD}),
                                           json_headers), 4, {401, 429}),
            ]
            only = {name for name in args.only.split(",") if name}
            unknown = only - {name for name, *_ in scenarios}
            if unknown:
                raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
            scenarios = [scenario for scenario in scenarios if not only or scenario[0] in only]
            answer = server.http("GET", f"/datasets/{CACHED_DATASET}", timeout=120)  # rendered once
            assert answer.status_code == 200, answer.text[:500]
            results = {}
            for name, script, connections, expected in scenarios:
                before = scrape(server)
                result = run_wrk(server.url, script, args.seconds, connections, scratch, name)
                after = scrape(server)
                result["connections"] = connections
                result["unexpected"] = sum(c for s, c in result["statuses"].items() if s not in expected)
                result["unexpected"] += result["socket_errors"]
                result["computations"] = (value(after, "openml_backend_stats_computations_total")
                                          - value(before, "openml_backend_stats_computations_total"))
                results[name] = result

    print(f"load bench: {args.workers} gunicorn workers x {args.threads} threads (gthread), MariaDB, "
          f"{args.seconds} s per scenario, wrk on the same machine")
    print(f"{'scenario':<14} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'unexpected':>10}  answers")
    for name, r in results.items():
        answers = ", ".join(f"{s}: {c}" for s, c in sorted(r["statuses"].items()))
        print(f"{name:<14} {r['connections']:>5} {r['rps']:>9.1f} {r['p50_us'] / 1000:>8.2f} "
              f"{r['p99_us'] / 1000:>8.2f} {r['unexpected']:>10}  {answers}")
    if "cold_stats" in results:
        cold = results["cold_stats"]
        print(f"cold_stats: {cold['computations']:.0f} computations for {cold['requests']} requests "
              "(the rest joined a computation in flight)")
    if "login_wrong" in results:
        wrong = results["login_wrong"]["statuses"]
        print(f"throttle: {wrong.get(401, 0)} answers 401 for one account (limit {limit} per window), "
              f"{wrong.get(429, 0)} answers 429 -> {'holds' if wrong.get(401, 0) <= limit else 'BROKEN'}")
    if {"cached_stats", "health"} <= set(results):
        ratio = results["cached_stats"]["rps"] / results["health"]["rps"]
        print(f"ratio cached_stats / health requests/s: {ratio:.2f}")
    for page, stats in (("cached_page", "cached_stats"), ("cached_page4", "cached_stats4")):
        if {page, stats} <= set(results):
            ratio = results[page]["rps"] / results[stats]["rps"]
            print(f"ratio {page} / {stats} requests/s: {ratio:.2f} (target >= 0.5: "
                  f"{'met' if ratio >= 0.5 else 'missed'})")
    if "cached_stats" in results:
        p99 = results["cached_stats"]["p99_us"] / 1000
        print(f"target cached_stats p99 < 20 ms at {args.connections} connections: {p99:.2f} ms -> "
              f"{'met' if p99 < 20 else 'missed'}")


if __name__ == "__main__":
    main()
