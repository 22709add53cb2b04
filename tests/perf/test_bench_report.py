"""bench/run.py's targets check (issue #22) on a small fake report: which rows meet and
miss each target, and the endpoints whose queries differ between sizes."""

from bench.run import markdown, targets


def _row(name, role, *, category, rps, p95, queries, django=None, bare=None, cached=False):
    load = {"seetf": {"rps": rps, "p50_ms": p95 / 2, "p95_ms": p95}}
    row = {
        "name": name,
        "key": name,
        "role": role,
        "path": "/x/",
        "kind": "page" if category == "page" else "api",
        "category": category,
        "cached": cached,
        "queries": {"seetf": queries},
        "load": load,
    }
    if django:
        load["django_floor"] = {"rps": django, "p50_ms": 1.0, "p95_ms": 2.0}
        row["share_of_django_rps"] = round(rps / django, 3)
    if bare:
        load["bare_wsgi"] = {"rps": bare, "p50_ms": 1.0, "p95_ms": 2.0}
        row["share_of_bare_rps"] = round(rps / bare, 3)
    return row


def _job(seconds, peak):
    return {
        "seconds": seconds,
        "queries": 3,
        "peak_rss_mib": peak,
        "rss_growth_mib": 1,
        "result": "done",
    }


def _report():
    small = [
        _row(
            "grant list, page 1",
            "fund_manager",
            category="list",
            rps=60,
            p95=40,
            queries=4,
            django=80,
            bare=100,
        ),
        _row(
            "grant detail",
            "task_team_leader",
            category="detail",
            rps=40,
            p95=120,
            queries=3,
            django=50,
            bare=100,
        ),
        _row(
            "fund summary",
            "donor",
            category="dashboard",
            rps=90,
            p95=140,
            queries=2,
            django=100,
            bare=200,
            cached=True,
        ),
        _row("home page", "donor", category="page", rps=30, p95=160, queries=9),
    ]
    large = [
        {**small[0], "queries": {"seetf": 4}},
        {**small[1], "queries": {"seetf": 5}},
        _row(
            "fund summary",
            "donor",
            category="dashboard",
            rps=120,
            p95=90,
            queries=2,
            django=100,
            bare=200,
            cached=True,
        ),
        small[3],
    ]
    return {
        "started": "2026-12-01 20:00 UTC",
        "machine": {"cpu": "cpu", "cores": 2, "memory": "4 GiB", "os": "Linux", "python": "3.11"},
        "postgres": "PostgreSQL 16",
        "settings": {"duration": 2, "connections": 4, "threads": 2, "workers": 4},
        "sizes": [
            {
                "grants": 2000,
                "load_before": [1],
                "load_after": [1],
                "generate_seconds": 1,
                "endpoints": small,
                "jobs": {"iati_activity_file": _job(10, 100), "reminders_daily": _job(2, 90)},
                "phase_seconds": {"generate": 1, "endpoints": 50, "jobs": 9, "total": 70},
            },
            {
                "grants": 20000,
                "load_before": [1],
                "load_after": [1],
                "generate_seconds": 9,
                "endpoints": large,
                "jobs": {"iati_activity_file": _job(310, 260), "reminders_daily": _job(61, 90)},
                "phase_seconds": {"generate": 9, "endpoints": 60, "jobs": 99, "total": 180},
            },
        ],
    }


def _by_size(checked):
    return {
        size["grants"]: {(c["row"], c["target"]): c["met"] for c in size["checks"]}
        for size in checked["sizes"]
    }


def test_each_row_meets_or_misses_its_target():
    checked = _by_size(targets(_report()))
    small = checked[2000]
    # Grant list page 1 and detail against half their bare floor, not the Django floor.
    assert small[("grant list, page 1 (fund_manager)", ">= 50% of bare")] is True
    assert small[("grant detail (task_team_leader)", ">= 50% of bare")] is False
    assert ("grant list, page 1 (fund_manager)", ">= Django floor") not in small
    # Every other JSON endpoint against its Django floor.
    assert small[("fund summary (donor)", ">= Django floor")] is False
    assert checked[20000][("fund summary (donor)", ">= Django floor")] is True
    # p95: 100 ms for lists and details, 150 ms for dashboards and pages; cached said.
    assert small[("grant list, page 1 (fund_manager)", "p95 < 100 ms")] is True
    assert small[("grant detail (task_team_leader)", "p95 < 100 ms")] is False
    assert small[("fund summary (donor)", "p95 < 150 ms (cached)")] is True
    assert small[("home page (donor)", "p95 < 150 ms")] is False
    # Pages have no floor to be measured against.
    assert not any(row == "home page (donor)" and "floor" in t for row, t in small)
    # The jobs.
    assert small[("iati_activity_file", "< 300 s")] is True
    assert small[("iati_activity_file", "peak < 250 MiB")] is True
    assert small[("reminders_daily", "< 60 s")] is True
    assert checked[20000][("iati_activity_file", "< 300 s")] is False
    assert checked[20000][("iati_activity_file", "peak < 250 MiB")] is False
    assert checked[20000][("reminders_daily", "< 60 s")] is False


def test_a_row_where_no_request_completed_misses_its_p95():
    report = _report()
    seetf = report["sizes"][0]["endpoints"][3]["load"]["seetf"]
    seetf.update(requests=0, rps=0.0, p50_ms=0.0, p95_ms=0.0)
    size = targets(report)["sizes"][0]
    (check,) = [c for c in size["checks"] if c["row"] == "home page (donor)"]
    assert check == {
        "row": "home page (donor)",
        "target": "p95 < 150 ms",
        "value": "no request completed",
        "met": False,
    }


def test_the_endpoints_whose_queries_differ_between_sizes_are_named():
    checked = targets(_report())
    assert checked["queries"]["sizes"] == [2000, 20000]
    assert checked["queries"]["differing"] == [
        {"row": "grant detail (task_team_leader)", "counts": {2000: 3, 20000: 5}}
    ]


def test_the_table_gives_the_shares_the_cache_and_the_targets():
    text = markdown(_report())
    assert "| fund summary (donor) | 2,000 | yes | 90 / 70.0 / 140.0 | 2 | — |" in text
    assert "| 90% | 45% |" in text  # share of the Django floor, then of bare
    assert "- 2,000 grants: 6 of 10 met." in text
    assert "grant detail (task_team_leader) >= 50% of bare: 40%" in text
    assert "Queries per request differ between 2,000, 20,000 grants: grant detail" in text
    assert "2,000 grants: generate 1 s, endpoints 50 s, jobs 9 s, total 70 s" in text
