"""The benchmark (`make bench`, or `bench/run`): seetf under gunicorn, driven over HTTP.

For each portfolio size (2,000, 20,000 and 200,000 grants by default) it recreates the PostgreSQL
database ``seetf_bench``, migrates, generates the portfolio (``generate_portfolio``),
makes one user per role, serves the project under gunicorn (bench/settings.py: the
production settings on plain HTTP, with the floors mounted) and the bare WSGI floor
(bench/bare_wsgi.py) under the same gunicorn settings, checks that each floor returns
the API's JSON, counts each endpoint's queries, then drives every endpoint and its
floors with wrk at the same concurrency, one after the other. Then it times the daily
jobs over the portfolio (bench/jobs.py). It prints a table, how long each size took
(generation, endpoints, jobs) and the issue's targets met and missed (``targets``), and
writes bench/results/<timestamp>.json, bench/results/latest.json and
bench/results/latest.md.

It is not part of the test suite; the README says how long each size takes.
"""

from __future__ import annotations

import argparse
import gzip
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-password-not-secret-42"
API_PORT, BARE_PORT, UNCACHED_PORT = 8701, 8702, 8703
AS_OF = date(2026, 6, 1)  # bench.portfolio.DEFAULT_AS_OF
FLOOR_PREFIX = "/bench/floor"


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- Database and Django --------------------------------------------------------------------


class Project:
    def __init__(self, database_url: str, python: str):
        self.database_url = database_url
        self.python = python
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT),
            "DEBUG": "0",
        }

    def recreate_database(self) -> None:
        import psycopg2

        parts = urllib.parse.urlparse(self.database_url)
        name = parts.path.lstrip("/")
        admin = self.database_url.rsplit("/", 1)[0] + "/postgres"
        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()

    def sql(self, statement: str, params=(), *, admin: bool = False) -> list:
        """Run one statement on the benchmark's database (or, ``admin``, on the server's
        ``postgres`` database, which exists before the benchmark's is created)."""
        import psycopg2

        url = self.database_url.rsplit("/", 1)[0] + "/postgres" if admin else self.database_url
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall() if cursor.description else []
        conn.close()
        return rows

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout


class Server:
    def __init__(self, app: str, port: int, env: dict, workers: int, python: str):
        gunicorn = str(Path(python).parent / "gunicorn")
        self.port = port
        self.process = subprocess.Popen(
            [
                gunicorn,
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/fund/", timeout=2)
            except urllib.error.HTTPError:
                return  # It answers (401 without a token).
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
            else:
                return
        self.stop()
        raise SystemExit(f"gunicorn {app} did not start on port {port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


# --- HTTP -------------------------------------------------------------------------------------


# How long one request may take: a computed report at 200,000 grants takes seconds,
# and one asked while the workers still finish requests that wrk left queued waits for
# them too (``wait_idle`` drains those between measurements).
REQUEST_TIMEOUT = 600


def http_get(url: str, headers: dict) -> tuple[int, dict, bytes]:
    """The status, headers and body (gunzipped, when it came gzipped) of a GET."""
    request = urllib.request.Request(url, headers={**headers, "X-Bench-Queries": "1"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            status, got, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, got, body = exc.code, dict(exc.headers), exc.read()
    if got.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, got, body


def wait_idle(url: str, workers: int, quick: float = 1.0) -> float:
    """Waits until every gunicorn worker behind ``url``'s port is free again; the seconds
    waited. A sync worker finishes a request whose client is gone (wrk closes its
    connections when its time is up, and a slow endpoint leaves requests queued), so the
    next measurement would otherwise queue behind the last one's leftovers. Free means
    ``workers`` cheap requests at once (``/healthz``: no database; the bare floor answers
    it 401) are all answered within ``quick`` seconds."""
    import concurrent.futures

    parts = urllib.parse.urlparse(url)
    probe = f"{parts.scheme}://{parts.netloc}/healthz"

    def one() -> float:
        started = time.perf_counter()
        try:
            urllib.request.urlopen(probe, timeout=REQUEST_TIMEOUT).read()
        except urllib.error.HTTPError:
            pass
        return time.perf_counter() - started

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        while True:
            times = list(pool.map(lambda _: one(), range(workers)))
            if max(times) < quick:
                return round(time.perf_counter() - started, 1)
            if time.perf_counter() - started > REQUEST_TIMEOUT:
                raise SystemExit(f"{probe}: the workers are still busy after {REQUEST_TIMEOUT} s")


def token_for(username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{API_PORT}/api/v1/auth/token/",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def session_for(username: str) -> str:
    """Sign in through the login page (CSRF and all); the Cookie header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = f"http://127.0.0.1:{API_PORT}/login/"
    page = opener.open(login, timeout=30).read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise SystemExit("No CSRF token on the login page.")
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)}
    ).encode()
    opener.open(urllib.request.Request(login, data=form, headers={"Referer": login}), timeout=30)
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        raise SystemExit(f"Could not sign in {username} through /login/.")
    return "; ".join(f"{k}={v}" for k, v in sorted(cookies.items()))


def normalised(body: bytes):
    """JSON with the parts that legitimately differ between servers taken out: the
    host and floor prefix of links, the fund's ``as_of`` timestamp, and a grant
    detail's ``allowed_actions`` (the workflow's answer for the user: the floors restate
    the grant's representation, not the workflow, so the detail's cost above its floor
    includes that answer)."""
    data = json.loads(body)

    def walk(value):
        if isinstance(value, dict):
            return {
                k: ("<as_of>" if k == "as_of" else walk(v))
                for k, v in value.items()
                if k != "allowed_actions"
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and value.startswith("http://127.0.0.1:"):
            path = "/" + value.split("/", 3)[3]
            return path.removeprefix(FLOOR_PREFIX)
        return value

    return walk(data)


# --- wrk ---------------------------------------------------------------------------------------


def wrk(url: str, headers: dict, seconds: float, connections: int, threads: int) -> dict:
    duration = f"{max(1, round(seconds))}s"
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--timeout", "10s"]
    command += ["-s", str(ROOT / "bench" / "wrk_report.lua")]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    line = [x for x in output.splitlines() if x.startswith("{")][-1]
    raw = json.loads(line)
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "non_2xx": raw["status_errors"],
        "socket_errors": errors,
        "bytes_per_request": round(raw["bytes"] / max(1, raw["requests"])),
    }


def combine(runs: list[dict]) -> dict:
    """Rounds of one variant as one measurement: requests and errors added, throughput
    over the whole time, latency percentiles weighted by each round's requests (wrk
    reports percentiles, not the latencies themselves)."""
    total = sum(r["requests"] for r in runs) or 1
    seconds = sum(r["requests"] / r["rps"] for r in runs if r["rps"])
    out = {
        "requests": total,
        "rps": round(total / seconds, 1) if seconds else 0.0,
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "bytes_per_request": runs[0]["bytes_per_request"],
        "rounds": runs,
    }
    for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms"):
        out[key] = round(sum(r[key] * r["requests"] for r in runs) / total, 2)
    out["max_ms"] = max(r["max_ms"] for r in runs)
    return out


# --- The endpoints --------------------------------------------------------------------------


def endpoints(project: Project, auth: dict) -> list[dict]:
    """What is measured, as whom, and where each floor answers it."""
    leader_grant = project.sql(
        "SELECT g.id FROM grants_grant g JOIN auth_user u ON u.id = g.task_team_leader_id "
        "WHERE u.username = %s AND g.status = 'approved' ORDER BY g.id LIMIT 1",
        [auth["leader_username"]],
    )[0][0]
    deep_filter = "status=closed&status=completed&ordering=-requested_usd"
    deep_count = project.sql(
        "SELECT count(*) FROM grants_grant WHERE status IN ('closed', 'completed')"
    )[0][0]
    last_page = max(1, -(-deep_count // 50))
    deep_page = max(1, int(last_page * 0.8))
    # The keyset cursor at the same position: after the last row of the page before.
    offset = (deep_page - 1) * 50 - 1
    cursor = ""
    if offset >= 0:
        import base64

        value, pk = project.sql(
            "SELECT requested_usd, id FROM grants_grant WHERE status IN ('closed', 'completed') "
            "ORDER BY requested_usd DESC, id DESC LIMIT 1 OFFSET %s",
            [offset],
        )[0]
        payload = {"o": ["-requested_usd", "-id"], "v": [str(value), pk], "r": 0}
        cursor = (
            base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
            .decode()
            .rstrip("=")
        )
    # An open request with the most candidate offers in its sectors' categories.
    request_row = project.sql(
        "SELECT r.id FROM brokering_exchangerequest r WHERE r.status = 'open' ORDER BY r.id LIMIT 1"
    )
    # The hub search looks for a word of a topic the stories tell, at every size: the
    # first published story's first word ("water" found none of the 35 stories of
    # 2,000 grants, whose search then read no page: one query fewer than elsewhere).
    story = project.sql(
        "SELECT title FROM results_resultsstory WHERE published ORDER BY id LIMIT 1"
    )
    hub_word = story[0][0].split()[0].lower() if story else "water"
    # (name, role, path, category): the category says which p95 target applies
    # (``targets``): lists and details 100 ms, dashboards, reports and pages 150 ms.
    api = [
        ("fund summary", "donor", "/api/v1/fund/", "dashboard"),
        ("grant list, page 1", "fund_manager", "/api/v1/grants/", "list"),
        (
            f"grant list, filtered, ordered, page {deep_page} of {last_page}",
            "fund_manager",
            f"/api/v1/grants/?{deep_filter}&page={deep_page}",
            "list",
        ),
        (
            "grant list, same page by keyset cursor",
            "fund_manager",
            f"/api/v1/grants/?{deep_filter}&cursor={cursor}",
            "list",
        ),
        ("grant detail", "task_team_leader", f"/api/v1/grants/{leader_grant}/", "detail"),
        ("donor dashboard", "donor", "/api/v1/dashboards/donor/", "dashboard"),
        (
            "capacity-outcomes report",
            "fund_manager",
            "/api/v1/reports/capacity-outcomes/",
            "report",
        ),
        (
            "knowledge hub search",
            "donor",
            f"/api/v1/results-stories/?search={urllib.parse.quote(hub_word)}",
            "list",
        ),
        ("windows list", "fund_manager", "/api/v1/windows/", "list"),
        (
            "cycle-times report",
            "fund_manager",
            "/api/v1/reports/cycle-times/?group_by=quarter",
            "report",
        ),
        (
            "portfolio-indicators report",
            "donor",
            "/api/v1/reports/portfolio-indicators/",
            "report",
        ),
        (
            "exchange-flows report",
            "fund_manager",
            "/api/v1/reports/exchange-flows/?by=country",
            "report",
        ),
        ("offers catalogue search", "donor", "/api/v1/offers/?search=water&language=en", "list"),
    ]
    if request_row:
        api.append(
            (
                "request suggestions",
                "task_team_leader",
                f"/api/v1/requests/{request_row[0][0]}/suggestions/",
                "list",
            )
        )
    # The leader's notifications (the generated portfolio gives leaders and fund
    # managers theirs; bench-fm is made after it, with none).
    api.append(("notifications list", "task_team_leader", "/api/v1/notifications/", "list"))
    # Served from the data cache (seetf.common.datacache) once computed: measured with
    # the cache on, and again on a second server with it off (DATA_CACHE=0).
    cached = {
        "donor dashboard",
        "capacity-outcomes report",
        "cycle-times report",
        "portfolio-indicators report",
        "exchange-flows report",
        "request suggestions",
    }
    items = [
        {
            "name": name,
            # The same row at every size (the deep page's name says its page number).
            "key": "grant list, filtered, ordered, deep page" if name.startswith(DEEP) else name,
            "role": role,
            "path": path,
            "kind": "api",
            "category": category,
            "floors": floors_of(name),
            "cached": name in cached,
        }
        for name, role, path, category in api
    ]
    # The pages each role opens first, then the grant page (the leader's grant, as the
    # leader and as the fund manager), the process page, the offers catalogue (public:
    # as the donor) and the windows page. Web pages have no floors.
    pages = [("home page", role, "/") for role in ("fund_manager", "task_team_leader", "donor")]
    pages += [
        ("grant page", "task_team_leader", f"/grants/{leader_grant}/"),
        ("grant page", "fund_manager", f"/grants/{leader_grant}/"),
        ("process page", "fund_manager", "/process/"),
        ("offers catalogue page", "donor", "/offers/"),
        ("windows page", "fund_manager", "/windows/"),
    ]
    for name, role, path in pages:
        items.append(
            {
                "name": name,
                "key": name,
                "role": role,
                "path": path,
                "kind": "page",
                "category": "page",
                "floors": (),
                "cached": False,
            }
        )
    return items


DEEP = "grant list, filtered, ordered, page "


# --- Which floors answer which endpoint ------------------------------------------------------

# Every JSON endpoint has both floors: the analytics reports' bare floors run the
# reports' own statements (cycle times and flows) or the SQL the ORM makes of the
# indicators' three aggregates, all written by `manage.py bench_statements`; brokering's
# suggestions run their own ranking statement.
DJANGO_FLOOR_ONLY: set[str] = set()
NO_FLOORS: set[str] = set()


def floors_of(name: str) -> tuple[str, ...]:
    """The floors that answer an endpoint: ``django_floor`` and ``bare_wsgi``."""
    if name in NO_FLOORS:
        return ()
    if name in DJANGO_FLOOR_ONLY:
        return ("django_floor",)
    return ("django_floor", "bare_wsgi")


# What every browser (and curl --compressed, Python's requests, ...) sends: a cached
# report long enough is then served gzipped (seetf.common.datacache.cached_response);
# nothing else of seetf or of the floors is compressed.
ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}


def headers_for(item: dict, auth: dict) -> dict:
    if item["kind"] == "api":
        return {"Authorization": f"Token {auth['tokens'][item['role']]}", **ACCEPT_ENCODING}
    return {"Cookie": auth["sessions"][item["role"]], **ACCEPT_ENCODING}


def variants(item: dict, django_floor: bool) -> list[tuple[str, str]]:
    out = [("seetf", f"http://127.0.0.1:{API_PORT}{item['path']}")]
    if item.get("cached"):
        out.append(("seetf_cache_off", f"http://127.0.0.1:{UNCACHED_PORT}{item['path']}"))
    if django_floor and "django_floor" in item["floors"]:
        out.append(("django_floor", f"http://127.0.0.1:{API_PORT}{FLOOR_PREFIX}{item['path']}"))
    if "bare_wsgi" in item["floors"]:
        out.append(("bare_wsgi", f"http://127.0.0.1:{BARE_PORT}{item['path']}"))
    return out


# --- The jobs ------------------------------------------------------------------------------------


def run_job(project: Project, job: str, day: date | None = None, extra=()) -> dict:
    args = [project.python, str(ROOT / "bench" / "jobs.py"), job]
    if day:
        args.append(day.isoformat())
    args.extend(extra)
    result = subprocess.run(args, cwd=ROOT, env=project.env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"bench/jobs.py {job} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def portability_jobs(project: Project, grants: int) -> dict:
    """The portfolio out and in again: export_portfolio's workbook of the generated
    portfolio, then its import (through the services, in batches) into a second,
    freshly migrated database, and a re-import there (everything held already)."""
    workbook = Path("/tmp") / f"seetf-bench-portfolio-{grants}.xlsx"
    jobs = {"portfolio_export": run_job(project, "export", extra=[str(workbook)])}
    target = Project(project.database_url + "_import", project.python)
    target.recreate_database()
    target.manage("migrate", "--noinput", "-v0")
    target.manage(
        "create_seetf_user",
        "bench-fm",
        "--role",
        "fund_manager",
        "--password",
        PASSWORD,
        "--no-input",
    )
    jobs["portfolio_import"] = run_job(target, "import", extra=[str(workbook)])
    jobs["portfolio_reimport"] = run_job(target, "import", extra=[str(workbook)])
    return jobs


def measure_endpoints(project: Project, users: dict, leader: str, args) -> list[dict]:
    """Each endpoint under load, beside its floors (bare WSGI, Django), as described in
    the module's docstring."""
    env = project.env
    # The analytics reports' statements, for the bare floor (it has no Django to build them).
    statements = Path(tempfile.gettempdir()) / f"seetf-bench-statements-{os.getpid()}.json"
    project.manage("bench_statements", "--output", str(statements))
    api = Server("seetf.wsgi:application", API_PORT, env, args.workers, project.python)
    bare = Server(
        "bench.bare_wsgi:application",
        BARE_PORT,
        {**env, "BENCH_STATEMENTS": str(statements)},
        args.workers,
        project.python,
    )
    uncached = Server(
        "seetf.wsgi:application",
        UNCACHED_PORT,
        {**env, "DATA_CACHE": "0"},
        args.workers,
        project.python,
    )
    try:
        auth = {
            "leader_username": leader,
            "tokens": {role: token_for(name) for role, name in users.items()},
            "sessions": {role: session_for(name) for role, name in users.items()},
        }
        items = endpoints(project, auth)
        if args.only:
            items = [i for i in items if any(o in i["name"] for o in args.only)]
        if args.skip:
            items = [i for i in items if not any(o in i["name"] for o in args.skip)]
        if args.no_pages:
            items = [i for i in items if i["kind"] != "page"]
        results = []
        for item in items:
            headers = headers_for(item, auth)
            row = {k: item[k] for k in ("name", "key", "role", "path", "kind", "category")}
            row["cached"] = item["cached"]
            bodies = {}
            for variant, url in variants(item, not args.no_django_floor):
                # Several times: a cached report is computed once per gunicorn worker,
                # then read; the fewest queries seen are what every other request runs.
                counts = []
                for _ in range(2 * args.workers):
                    status, response_headers, body = http_get(url, headers)
                    if status != 200:
                        raise SystemExit(f"{variant} {url}: {status} {body[:500]!r}")
                    counts.append(int(response_headers.get("X-Bench-Queries", -1)))
                row.setdefault("queries", {})[variant] = min(counts)
                if item["kind"] == "api":
                    bodies[variant] = normalised(body)
                row.setdefault("bytes", {})[variant] = len(body)
            if bodies:
                row["same_json"] = {v: bodies[v] == bodies["seetf"] for v in bodies if v != "seetf"}
                for v, same in row["same_json"].items():
                    if not same:
                        log(f"  WARNING: {v} JSON differs from seetf's for {item['name']}")
            # Two rounds, in the order A B C then C B A: the load that other processes
            # put on the machine drifts, and each variant then sees it alike.
            order = variants(item, not args.no_django_floor)
            rounds: dict[str, list] = {variant: [] for variant, _ in order}
            waited = 0.0
            for sequence in (order, order[::-1]):
                for variant, url in sequence:
                    wrk(url, headers, 1, args.connections, args.threads)  # warm-up
                    waited += wait_idle(url, args.workers)
                    rounds[variant].append(
                        wrk(url, headers, args.duration / 2, args.connections, args.threads)
                    )
                    waited += wait_idle(url, args.workers)
            row["drained_seconds"] = round(waited, 1)
            row["load"] = {variant: combine(runs) for variant, runs in rounds.items()}
            seetf, bare_run = row["load"]["seetf"], row["load"].get("bare_wsgi")
            if bare_run and bare_run["rps"]:
                row["share_of_bare_rps"] = round(seetf["rps"] / bare_run["rps"], 3)
            django_run = row["load"].get("django_floor")
            if django_run and django_run["rps"]:
                row["share_of_django_rps"] = round(seetf["rps"] / django_run["rps"], 3)
            log(
                f"  {item['name']:<58} {seetf['rps']:>7.1f} rps  p50 {seetf['p50_ms']:>7.2f} "
                f"p95 {seetf['p95_ms']:>7.2f} ms  {row['queries']['seetf']} queries"
                + (
                    f"  ({row['share_of_bare_rps']:.0%} of bare)"
                    if "share_of_bare_rps" in row
                    else ""
                )
                + (
                    f"  ({row['share_of_django_rps']:.0%} of Django)"
                    if "share_of_django_rps" in row
                    else ""
                )
                + f"  load {load_average()[0]}"
            )
            results.append(row)
        return results
    finally:
        api.stop()
        bare.stop()
        uncached.stop()


# --- One size ------------------------------------------------------------------------------------


def run_size(project: Project, grants: int, args) -> dict:
    out = {"grants": grants, "load_before": load_average()}
    size_started = time.perf_counter()
    if args.existing_database:
        # A portfolio generated before (by an earlier run, or generate_portfolio with
        # --seed 1): migrated to this code, not generated again.
        held = project.sql("SELECT count(*) FROM grants_grant")[0][0]
        if held != grants:
            raise SystemExit(f"--existing-database holds {held} grants, not {grants}.")
        log(f"{grants} grants: the existing database, migrated")
        project.manage("migrate", "--noinput", "-v0")
        project.manage("collectstatic", "--noinput", "-v0")
        out["generate_seconds"] = None
        out["generate_output"] = "existing database"
    else:
        log(f"{grants} grants: recreating the database")
        project.recreate_database()
        project.manage("migrate", "--noinput", "-v0")
        project.manage("collectstatic", "--noinput", "-v0")  # production's manifest storage
        started = time.perf_counter()
        generated = project.manage("generate_portfolio", "--grants", str(grants), "--seed", "1")
        out["generate_seconds"] = round(time.perf_counter() - started, 1)
        out["generate_output"] = generated.strip()
        log(f"generated in {out['generate_seconds']} s (load {load_average()})")
    project.sql("VACUUM ANALYZE")  # as autovacuum would, in time, after a bulk load
    leader = project.sql(
        "SELECT u.username FROM auth_user u JOIN grants_grant g ON g.task_team_leader_id = u.id "
        "WHERE g.status = 'approved' GROUP BY u.username ORDER BY count(*) DESC, u.username "
        "LIMIT 1"
    )[0][0]
    project.manage(
        "create_seetf_user",
        "bench-fm",
        "--role",
        "fund_manager",
        "--password",
        PASSWORD,
        "--email",
        "bench-fm@example.org",
        "--no-input",
    )
    project.manage(
        "create_seetf_user",
        leader,
        "--role",
        "task_team_leader",
        "--password",
        PASSWORD,
        "--no-input",
    )
    project.manage(
        "create_seetf_user",
        "bench-donor",
        "--role",
        "donor",
        "--partner",
        "GBR",
        "--password",
        PASSWORD,
        "--email",
        "bench-donor@example.org",
        "--no-input",
    )
    users = {"fund_manager": "bench-fm", "task_team_leader": leader, "donor": "bench-donor"}

    # How long the size took, by phase (the README says how long each size takes).
    out["phase_seconds"] = (
        {"generate": out["generate_seconds"]} if out["generate_seconds"] is not None else {}
    )
    if not args.no_endpoints:
        started = time.perf_counter()
        out["endpoints"] = measure_endpoints(project, users, leader, args)
        out["phase_seconds"]["endpoints"] = round(time.perf_counter() - started, 1)
    if not args.no_jobs:
        started = time.perf_counter()
        log("jobs: " + ", ".join(args.jobs))
        jobs = {
            "reminders_daily": lambda: run_job(project, "reminders", AS_OF),
            "reminders_month_later": lambda: run_job(
                project, "reminders", AS_OF + timedelta(days=30)
            ),
            "funding_check": lambda: run_job(project, "funding"),
            "notification_emails": lambda: run_job(project, "notifications"),
            "daily_digests": lambda: run_job(project, "digests", AS_OF),
            "iati_activity_file": lambda: run_job(project, "iati"),
            # The three run together (the import reads the export's file).
            "portfolio_export": lambda: portability(project, grants)["portfolio_export"],
            "portfolio_import": lambda: portability(project, grants)["portfolio_import"],
            "portfolio_reimport": lambda: portability(project, grants)["portfolio_reimport"],
        }
        done: dict = {}

        def portability(project, grants):
            if not done:
                done.update(portability_jobs(project, grants))
            return done

        unknown = set(args.jobs) - set(jobs)
        if unknown:
            raise SystemExit(f"Unknown jobs {sorted(unknown)}: choose among {sorted(jobs)}")
        out["jobs"] = {name: jobs[name]() for name in jobs if name in args.jobs}
        for name, job in out["jobs"].items():
            log(f"  {name}: {job}")
        out["phase_seconds"]["jobs"] = round(time.perf_counter() - started, 1)
    out["phase_seconds"]["total"] = round(time.perf_counter() - size_started, 1)
    log(f"{grants} grants took {out['phase_seconds']} s")
    out["load_after"] = load_average()
    return out


# --- Reporting ---------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def fmt_load(run: dict | None) -> str:
    if not run:
        return "—"
    return f"{run['rps']:.0f} / {run['p50_ms']:.1f} / {run['p95_ms']:.1f}"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Run {report['started']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, "
        f"{m['os']}, Python {m['python']}, {report['postgres']}; gunicorn "
        f"{report['settings']['workers']} sync workers, wrk -t{report['settings']['threads']} "
        f"-c{report['settings']['connections']} for {report['settings']['duration']} s per "
        f"row and variant (two rounds of half, in the order A B C then C B A). Load average "
        f"(1, 5, 15 min) before/after each size: "
        + "; ".join(
            f"{s['grants']}: {s['load_before']} / {s['load_after']}" for s in report["sizes"]
        )
        + ".",
        "",
    ]
    if any(size.get("endpoints") for size in report["sizes"]):
        lines += [
            "Each cell: requests/s / p50 ms / p95 ms. Queries are per request (seetf / "
            "Django floor / bare floor). Cached: served from the data cache once computed "
            "(seetf.common.datacache; the next column measures it with the cache off).",
            "",
            "| endpoint (role) | grants | cached | seetf | queries | seetf, cache off "
            "| Django floor | bare WSGI floor | seetf rps as share of Django floor "
            "| seetf rps as share of bare |",
            "|---|---:|:---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for size in report["sizes"]:
        for row in size.get("endpoints", []):
            q = row["queries"]
            queries = " / ".join(
                str(q[v]) for v in ("seetf", "django_floor", "bare_wsgi") if v in q
            )
            off = row["load"].get("seetf_cache_off")
            off_cell = f"{fmt_load(off)} ({q['seetf_cache_off']} queries)" if off else "—"
            share = f"{row['share_of_bare_rps']:.0%}" if "share_of_bare_rps" in row else "—"
            django_share = (
                f"{row['share_of_django_rps']:.0%}" if "share_of_django_rps" in row else "—"
            )
            lines.append(
                f"| {row['name']} ({row['role']}) | {size['grants']:,} | "
                f"{'yes' if row.get('cached') else ''} | "
                f"{fmt_load(row['load']['seetf'])} | {queries} | {off_cell} | "
                f"{fmt_load(row['load'].get('django_floor'))} | "
                f"{fmt_load(row['load'].get('bare_wsgi'))} | {django_share} | {share} |"
            )
    jobs = [(s["grants"], s["jobs"]) for s in report["sizes"] if s.get("jobs")]
    if jobs:
        lines += [
            "",
            "| job | grants | seconds | queries | peak RSS MiB (growth) | result |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for grants, runs in jobs:
            for name, job in runs.items():
                lines.append(
                    f"| {name} | {grants:,} | {job['seconds']:.2f} | {job['queries']} | "
                    f"{job['peak_rss_mib']:.0f} (+{job['rss_growth_mib']:.0f}) | "
                    f"{job['result']} |"
                )
    gens = ", ".join(
        f"{s['grants']:,} grants in {s['generate_seconds']} s"
        if s["generate_seconds"] is not None
        else f"{s['grants']:,} grants generated by an earlier run (--existing-database)"
        for s in report["sizes"]
    )
    lines += ["", f"Portfolio generation (generate_portfolio, PostgreSQL): {gens}."]
    took = [
        f"{s['grants']:,} grants: "
        + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in s["phase_seconds"].items())
        for s in report["sizes"]
        if s.get("phase_seconds")
    ]
    if took:
        lines += ["", "Time each size took: " + "; ".join(took) + "."]
    lines += ["", *targets_markdown(targets(report))]
    return "\n".join(lines) + "\n"


# --- The issue's targets -----------------------------------------------------------------------

BARE_SHARE_TARGET = 0.5  # grant list page 1 and grant detail: half their bare floor
BARE_TARGET_ROWS = {"grant list, page 1", "grant detail"}
P95_TARGET_MS = {"list": 100, "detail": 100, "dashboard": 150, "report": 150, "page": 150}
JOB_TARGETS = {  # job: (seconds, peak MiB or None)
    "iati_activity_file": (300, 250),
    "reminders_daily": (60, None),
}


def _row_key(row: dict) -> tuple[str, str]:
    return (row.get("key") or row["name"], row["role"])


def targets(report: dict) -> dict:
    """The issue's targets against one report: per size, each check met or missed.

    ``{"sizes": [{"grants", "checks": [{"row", "target", "value", "met"}]}],
    "queries": {"sizes", "differing": [{"row", "counts": {grants: queries}}]}}``.
    Throughput: grant list page 1 and grant detail at least half their bare floor's,
    every other JSON endpoint at least its Django floor's; p95 under 100 ms for lists
    and details, 150 ms for dashboards, reports and pages; the IATI activity file under
    300 s and 250 MiB peak, the daily reminders under 60 s. Queries per request: the
    endpoints whose seetf count differs between the sizes run."""
    out: dict = {"sizes": []}
    for size in report["sizes"]:
        checks = []
        for row in size.get("endpoints", []):
            label = f"{row['name']} ({row['role']})"
            if row["kind"] == "api":
                if row["name"] in BARE_TARGET_ROWS:
                    share = row.get("share_of_bare_rps")
                    target = f">= {BARE_SHARE_TARGET:.0%} of bare"
                else:
                    share = row.get("share_of_django_rps")
                    target = ">= Django floor"
                    if share is None and "django_floor" in row.get("load", {}):
                        share = 0.0
                if share is not None:
                    floor = BARE_SHARE_TARGET if row["name"] in BARE_TARGET_ROWS else 1.0
                    checks.append(
                        {
                            "row": label,
                            "target": target,
                            "value": f"{share:.0%}",
                            "met": share >= floor,
                        }
                    )
            limit = P95_TARGET_MS.get(row.get("category") or "", 150)
            seetf = row["load"]["seetf"]
            p95 = seetf["p95_ms"]
            # No request completed in the time (wrk's percentiles are then zeros, and
            # ``combine`` counts one request): missed.
            done = seetf["rps"] > 0
            checks.append(
                {
                    "row": label,
                    "target": f"p95 < {limit} ms" + (" (cached)" if row.get("cached") else ""),
                    "value": f"{p95:.1f} ms" if done else "no request completed",
                    "met": done and p95 < limit,
                }
            )
        for name, (seconds, peak) in JOB_TARGETS.items():
            job = (size.get("jobs") or {}).get(name)
            if not job:
                continue
            checks.append(
                {
                    "row": name,
                    "target": f"< {seconds} s",
                    "value": f"{job['seconds']:.1f} s",
                    "met": job["seconds"] < seconds,
                }
            )
            if peak is not None:
                checks.append(
                    {
                        "row": name,
                        "target": f"peak < {peak} MiB",
                        "value": f"{job['peak_rss_mib']:.0f} MiB",
                        "met": job["peak_rss_mib"] < peak,
                    }
                )
        out["sizes"].append({"grants": size["grants"], "checks": checks})
    counts: dict = {}
    for size in report["sizes"]:
        for row in size.get("endpoints", []):
            counts.setdefault(_row_key(row), {})[size["grants"]] = row["queries"]["seetf"]
    measured = [s["grants"] for s in report["sizes"] if s.get("endpoints")]
    out["queries"] = {
        "sizes": measured,
        "differing": [
            {"row": f"{name} ({role})", "counts": by_size}
            for (name, role), by_size in counts.items()
            if len(set(by_size.values())) > 1
        ],
    }
    return out


def targets_markdown(checked: dict) -> list[str]:
    lines = ["Targets (issue #22):", ""]
    for size in checked["sizes"]:
        if not size["checks"]:
            continue
        met = [c for c in size["checks"] if c["met"]]
        missed = [c for c in size["checks"] if not c["met"]]
        lines.append(f"- {size['grants']:,} grants: {len(met)} of {len(size['checks'])} met.")
        if missed:
            lines.append(
                "  Missed: "
                + "; ".join(f"{c['row']} {c['target']}: {c['value']}" for c in missed)
                + "."
            )
    sizes = checked["queries"]["sizes"]
    if len(sizes) > 1:
        differing = checked["queries"]["differing"]
        where = ", ".join(f"{s:,}" for s in sizes)
        if differing:
            lines.append(
                f"- Queries per request differ between {where} grants: "
                + "; ".join(
                    d["row"] + " " + ", ".join(f"{q} at {g:,}" for g, q in d["counts"].items())
                    for d in differing
                )
                + "."
            )
        else:
            lines.append(f"- Queries per request identical at {where} grants.")
    return lines


def main() -> None:
    global API_PORT, BARE_PORT, UNCACHED_PORT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="2000,20000,200000", help="Portfolio sizes (grants), comma-separated."
    )
    parser.add_argument("--duration", type=int, default=10, help="Seconds per measurement.")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers.")
    parser.add_argument("--only", action="append", help="Endpoints whose name contains this.")
    parser.add_argument("--skip", action="append", help="Not the endpoints named like this.")
    parser.add_argument("--no-pages", action="store_true", help="The API only, no web pages.")
    parser.add_argument("--no-jobs", action="store_true")
    parser.add_argument(
        "--jobs",
        default="reminders_daily,reminders_month_later,funding_check,notification_emails,"
        "daily_digests,iati_activity_file,portfolio_export,portfolio_import,portfolio_reimport",
        help="The jobs to time, comma-separated (iati_activity_file: the IATI export; "
        "portfolio_*: export_portfolio's workbook, its import into an empty database, and "
        "a re-import).",
    )
    parser.add_argument(
        "--no-endpoints",
        action="store_true",
        help="No servers, no load: the portfolio and the jobs only (`--no-endpoints --jobs "
        "iati_activity_file` times the IATI export alone).",
    )
    parser.add_argument("--no-django-floor", action="store_true")
    parser.add_argument(
        "--existing-database",
        action="store_true",
        help="Measure the portfolio already in --database-url (one size: its grant count), "
        "migrated, not recreated nor generated again.",
    )
    parser.add_argument("--label", default="", help="A tag for the result file name.")
    parser.add_argument(
        "--port-base",
        type=int,
        default=8701,
        help="The first of the three loopback ports the servers take (seetf, the bare "
        "floor, seetf with the cache off); two benchmarks at once need different ones.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seetf_bench"
        ),
    )
    args = parser.parse_args()
    API_PORT, BARE_PORT, UNCACHED_PORT = args.port_base, args.port_base + 1, args.port_base + 2
    args.jobs = [name for name in args.jobs.split(",") if name]
    if not args.no_endpoints and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (bench/run installs it with apt-get).")
    python = str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    project = Project(args.database_url, python)
    started = datetime.now(UTC)
    postgres = project.sql("SHOW server_version", admin=True)[0][0]
    report = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "postgres": f"PostgreSQL {postgres}",
        "settings": {
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
        },
        "sizes": [],
    }
    for size in [int(s) for s in args.sizes.split(",") if s]:
        report["sizes"].append(run_size(project, size, args))
    report["seconds"] = round((datetime.now(UTC) - started).total_seconds())
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%S")
    label = f"-{args.label}" if args.label else ""
    text = json.dumps(report, indent=1, default=str)
    (RESULTS / f"{stamp}{label}.json").write_text(text)
    table = markdown(report)
    if not (args.only or args.skip or args.no_pages or args.label or args.no_endpoints):
        (RESULTS / "latest.json").write_text(text)
        (RESULTS / "latest.md").write_text(table)
    print()
    print(table)
    where = RESULTS.relative_to(ROOT) / f"{stamp}{label}.json"
    log(f"done in {report['seconds']} s; results in {where}")


if __name__ == "__main__":
    main()
