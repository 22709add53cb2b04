"""The physical floor: a bare WSGI application (no Django, no DRF) serving the benchmark's
API endpoints with their SQL run through psycopg2, returning the same JSON as seetf.

It answers the same paths as the API (on its own port, under the same gunicorn
settings), authenticates the same token, applies the same visibility rules, and builds
the same bodies; bench/run checks that its JSON equals the API's before measuring. It
serves only the requests the benchmark makes (anything else is a 404), and keeps one
database connection per worker process. Its SQL is what the endpoints need, written by
hand: one query for the user and their roles, then as few as the data takes.
"""

import base64
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

import psycopg2

ROLES = ["fund_manager", "task_team_leader", "donor"]
APPROVED_AND_LATER = ("approved", "completed", "closed", "cancelled")
PIPELINE = ("submitted", "under_review")
# grants.models.GrantStatus
GRANT_STATUSES = (
    "draft",
    "submitted",
    "under_review",
    "returned",
    "rejected",
    *APPROVED_AND_LATER,
)
OUTCOMES = [
    "raised_awareness",
    "enhanced_knowledge_and_skills",
    "improved_consensus_and_teamwork",
    "strengthened_coalitions",
    "enhanced_networks",
    "increased_implementation_knowhow",
]
CENT = Decimal("0.01")
GRANT_ORDERING = {
    "created_at",
    "submitted_at",
    "decided_at",
    "requested_usd",
    "approved_usd",
    "planned_start",
    "planned_end",
    "reference",
    "title",
    "status",
}
THRESHOLD = Decimal(os.environ.get("FUNDING_ALERT_THRESHOLD_USD", "250000.00"))

_connection = None


def _cursor():
    global _connection
    if _connection is None or _connection.closed:
        url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seetf_bench")
        _connection = psycopg2.connect(url)
        _connection.autocommit = True
        with _connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            # As the project's connections run (seetf/settings/base.py): JIT compiling
            # the analytics statements cost more than running them.
            cursor.execute("SET jit = off")
    return _connection.cursor()


class Counted:
    """A cursor that counts the statements it runs (the X-Bench-Queries header)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.count = 0

    def execute(self, sql, params=()):
        self.count += 1
        self.cursor.execute(sql, params)
        return self.cursor

    def one(self, sql, params=()):
        return self.execute(sql, params).fetchone()

    def all(self, sql, params=()):
        return self.execute(sql, params).fetchall()


# --- Representation, as DRF renders it ------------------------------------------------


def money(value):
    return None if value is None else f"{value.quantize(CENT):f}"


def stamp(value):
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value):
    return None if value is None else value.isoformat()


# --- Users ------------------------------------------------------------------------------


class User:
    def __init__(self, row):
        self.id, self.superuser, roles, self.partner_id = row
        self.roles = set(roles)

    def visible(self):
        """grants.selectors.grants_visible_to, as SQL on the alias g."""
        if self.superuser:
            return "TRUE", []
        parts, params = [], []
        if "fund_manager" in self.roles:
            parts.append("g.status <> 'draft'")
        if "task_team_leader" in self.roles:
            parts.append("(g.task_team_leader_id = %s OR g.status IN %s)")
            params += [self.id, APPROVED_AND_LATER]
        if "donor" in self.roles:
            parts.append("g.status IN %s")
            params.append(APPROVED_AND_LATER)
        return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), params

    def statuses(self):
        """grants.selectors.statuses_seen: the statuses seen when they are all the rule."""
        if self.superuser:
            return set(GRANT_STATUSES)
        roles = self.roles - ({"window_manager"} if "fund_manager" in self.roles else set())
        if not roles or not roles <= {"fund_manager", "donor"}:
            return None
        seen = set()
        if "fund_manager" in roles:
            seen |= set(GRANT_STATUSES) - {"draft"}
        if "donor" in roles:
            seen |= set(APPROVED_AND_LATER)
        return seen


def authenticate(db, environ):
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Token "):
        return None
    row = db.one(
        """SELECT u.id, u.is_superuser,
                  ARRAY(SELECT g.name FROM auth_user_groups ug
                        JOIN auth_group g ON g.id = ug.group_id
                        WHERE ug.user_id = u.id AND g.name = ANY(%s)),
                  (SELECT m.partner_id FROM partners_partnermembership m WHERE m.user_id = u.id)
           FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id
           WHERE t.key = %s AND u.is_active""",
        (ROLES, header[6:].strip()),
    )
    return User(row) if row else None


# --- Links, as DRF builds them ----------------------------------------------------------


def _url(environ, query: dict) -> str:
    host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
    items = sorted(query.items())
    return f"http://{host}{environ['PATH_INFO']}" + (
        "?" + urlencode(items, doseq=True) if items else ""
    )


def _replace(environ, query, key, value):
    q = dict(query)
    q[key] = [str(value)]
    return _url(environ, q)


def _remove(environ, query, key):
    q = dict(query)
    q.pop(key, None)
    return _url(environ, q)


# --- Grants ------------------------------------------------------------------------------

SCALARS = """g.id, g.reference, g.title, g.summary, g.task_team_leader_id, g.sector_id,
    g.region, g.requested_usd, g.approved_usd, g.disbursed_usd, g.status, g.development_goal,
    g.targeted_outcomes, g.planned_start, g.planned_end, g.completion_report_due,
    g.submitted_at, g.decided_at, g.created_at, g.window_id, g.recipient_endorsed_on,
    g.parent_id, g.relation"""


def grants_sql(where: str, order: str, limit: str) -> str:
    """One statement: the ids of the page (ordered and skipped narrow), the page's
    rows, then each relation aggregated for the page's grants alone, joined back, in
    the page's order."""
    relation = (
        "SELECT t.grant_id, array_agg({value} ORDER BY x.name) AS v FROM {through} t "
        "JOIN {table} x ON x.{key} = t.{fk} WHERE t.grant_id IN (SELECT id FROM page) "
        "GROUP BY t.grant_id"
    )
    rc = relation.format(
        value="x.code",
        through="grants_grant_recipient_countries",
        table="partners_country",
        key="code",
        fk="country_id",
    )
    pc = relation.format(
        value="x.code",
        through="grants_grant_provider_countries",
        table="partners_country",
        key="code",
        fk="country_id",
    )
    fp = relation.format(
        value="x.id",
        through="grants_grant_facilitating_partners",
        table="partners_partner",
        key="id",
        fk="partner_id",
    )
    roles = (
        "SELECT t.grant_id, json_agg(json_build_object('partner', t.partner_id, 'role', t.role, "
        "'cofinancing_usd', t.cofinancing_usd::text, 'partner_kind', x.kind) "
        "ORDER BY t.role, t.partner_id) AS v FROM grants_grantpartnerrole t "
        "JOIN partners_partner x ON x.id = t.partner_id "
        "WHERE t.grant_id IN (SELECT id FROM page) GROUP BY t.grant_id"
    )
    return f"""WITH ids AS (SELECT g.id FROM grants_grant g WHERE {where}
                         ORDER BY {order} {limit}),
        page AS (SELECT {SCALARS} FROM grants_grant g WHERE g.id IN (SELECT id FROM ids)),
        rc AS ({rc}), pc AS ({pc}), fp AS ({fp}), pr AS ({roles})
        SELECT g.id, g.reference, g.title, g.summary, g.task_team_leader_id, g.sector_id,
               g.region, COALESCE(rc.v, '{{}}'), COALESCE(pc.v, '{{}}'), COALESCE(fp.v, '{{}}'),
               g.requested_usd, g.approved_usd, g.disbursed_usd, g.status, g.development_goal,
               g.targeted_outcomes, g.planned_start, g.planned_end, g.completion_report_due,
               g.submitted_at, g.decided_at, g.created_at, g.window_id,
               COALESCE(pr.v, '[]'::json), g.recipient_endorsed_on, m.request_id, m.offer_id,
               g.parent_id, g.relation
        FROM page g LEFT JOIN rc ON rc.grant_id = g.id LEFT JOIN pc ON pc.grant_id = g.id
             LEFT JOIN fp ON fp.grant_id = g.id LEFT JOIN pr ON pr.grant_id = g.id
             LEFT JOIN brokering_match m ON m.grant_id = g.id
        ORDER BY {order}"""


def grant_json(r):
    return {
        "id": r[0],
        "reference": r[1],
        "title": r[2],
        "summary": r[3],
        "task_team_leader": r[4],
        "sector": r[5],
        "region": r[6],
        "recipient_countries": r[7],
        "provider_countries": r[8],
        "facilitating_partners": r[9],
        "window": r[22],
        "partner_roles": r[23],
        "recipient_endorsed_on": day(r[24]),
        "brokered_request": r[25],
        "brokered_offer": r[26],
        "requested_usd": money(r[10]),
        "approved_usd": money(r[11]),
        "disbursed_usd": money(r[12]),
        "status": r[13],
        "development_goal": r[14],
        "targeted_outcomes": r[15],
        "planned_start": day(r[16]),
        "planned_end": day(r[17]),
        "completion_report_due": day(r[18]),
        "submitted_at": stamp(r[19]),
        "decided_at": stamp(r[20]),
        "created_at": stamp(r[21]),
        "parent": r[27],
        "relation": r[28],
    }


# Column index of each orderable field in the rows of grants_sql (for keyset cursors).
ORDER_INDEX = {
    "id": 0,
    "reference": 1,
    "title": 2,
    "requested_usd": 10,
    "approved_usd": 11,
    "status": 13,
    "planned_start": 16,
    "planned_end": 17,
    "submitted_at": 19,
    "decided_at": 20,
    "created_at": 21,
}


def _cursor_value(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def encode_cursor(ordering, row, reverse):
    payload = {
        "o": ordering,
        "v": [_cursor_value(row[ORDER_INDEX[f.lstrip("-")]]) for f in ordering],
        "r": 1 if reverse else 0,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token):
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return json.loads(raw)


def _keyset(ordering, values, reverse):
    """Rows after the position ``values`` in ``ordering`` (NULLS LAST), or before it."""
    clauses, params = [], []
    equal_sql, equal_params = [], []
    for name, value in zip(ordering, values, strict=True):
        desc = name.startswith("-") != reverse
        nulls_last = not reverse
        column = "g." + name.lstrip("-")
        if value is None:
            beyond = None if nulls_last else f"{column} IS NOT NULL"
            beyond_params = []
        else:
            beyond = f"{column} {'<' if desc else '>'} %s"
            beyond_params = [value]
            if nulls_last:
                beyond = f"({beyond} OR {column} IS NULL)"
        if beyond:
            clauses.append("(" + " AND ".join([*equal_sql, beyond]) + ")")
            params += equal_params + beyond_params
        if value is None:
            equal_sql.append(f"{column} IS NULL")
        else:
            equal_sql.append(f"{column} = %s")
            equal_params.append(value)
    return ("(" + " OR ".join(clauses) + ")" if clauses else "FALSE"), params


def _order_sql(ordering, reverse):
    parts = []
    for name in ordering:
        desc = name.startswith("-") != reverse
        parts.append(
            f"g.{name.lstrip('-')} {'DESC' if desc else 'ASC'} "
            f"{'NULLS FIRST' if reverse else 'NULLS LAST'}"
        )
    return ", ".join(parts)


def grant_list(db, user, environ, query):
    where, params = user.visible()
    statuses = query.get("status")
    if statuses:
        where += " AND g.status IN %s"
        params.append(tuple(statuses))
    if query.get("region"):
        where += " AND g.region = %s"
        params.append(query["region"][0])
    field = (query.get("ordering") or ["-created_at"])[0]
    if field.lstrip("-") not in GRANT_ORDERING:
        return 400, {"detail": "ordering not served by the floor"}
    ordering = [field] if field != "-created_at" else ["-created_at"]
    ordering.append("-id" if field.startswith("-") else "id")
    size = min(500, int((query.get("page_size") or ["50"])[0]))
    count = db.one(f"SELECT count(*) FROM grants_grant g WHERE {where}", params)[0]
    if "cursor" in query:
        token = query["cursor"][0]
        reverse = False
        if token:
            cursor = decode_cursor(token)
            if cursor["o"] != ordering:
                return 404, {"detail": "Invalid cursor"}
            reverse = bool(cursor["r"])
            keyset, keyset_params = _keyset(ordering, cursor["v"], reverse)
            where += f" AND {keyset}"
            params += keyset_params
        rows = db.all(
            grants_sql(where, _order_sql(ordering, reverse), "LIMIT %s"), [*params, size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        base = {k: v for k, v in query.items() if k != "page"}
        has_next = (more and not reverse) or (reverse and bool(rows))
        has_previous = (more and reverse) or (not reverse and bool(token) and bool(rows))
        return 200, {
            "count": count,
            "next": _replace(environ, base, "cursor", encode_cursor(ordering, rows[-1], False))
            if has_next
            else None,
            "previous": _replace(environ, base, "cursor", encode_cursor(ordering, rows[0], True))
            if has_previous
            else None,
            "results": [grant_json(r) for r in rows],
        }
    page = int((query.get("page") or ["1"])[0])
    pages = max(1, -(-count // size))
    if page < 1 or page > pages:
        return 404, {"detail": "Invalid page."}
    order = _order_sql(ordering, False).replace(" NULLS LAST", "")
    rows = db.all(
        grants_sql(where, order, "LIMIT %s OFFSET %s"), [*params, size, (page - 1) * size]
    )
    previous = None
    if page > 1:
        previous = (
            _remove(environ, query, "page")
            if page == 2
            else _replace(environ, query, "page", page - 1)
        )
    return 200, {
        "count": count,
        "next": _replace(environ, query, "page", page + 1) if page < pages else None,
        "previous": previous,
        "results": [grant_json(r) for r in rows],
    }


def grant_detail(db, user, pk):
    where, params = user.visible()
    row = db.one(grants_sql(f"g.id = %s AND {where}", "g.id", ""), [pk, *params])
    if row is None:
        return 404, {"detail": "No Grant matches the given query."}
    return 200, grant_json(row)


# --- The fund, the dashboard, the report ----------------------------------------------------


def _fund(db):
    received, committed, disbursed, allocated, pledged, pipeline = db.one(
        """SELECT f.received_usd, f.committed_usd, f.disbursed_usd, f.allocated_usd,
                  (SELECT COALESCE(SUM(pledged_usd), 0) FROM partners_contribution),
                  (SELECT COALESCE(SUM(requested_usd), 0) FROM grants_grant
                   WHERE status IN %s)
           FROM partners_fund f WHERE f.id = 1""",
        (PIPELINE,),
    )
    return {
        "pledged_usd": money(pledged),
        "received_usd": money(received),
        "committed_usd": money(committed),
        "disbursed_usd": money(disbursed),
        "allocated_usd": money(allocated),
        "available_usd": money(received - committed - allocated),
        "pipeline_usd": money(pipeline),
        "low_balance_threshold_usd": money(THRESHOLD),
        "as_of": stamp(datetime.now(UTC)),
    }, received


def fund(db, user):
    return 200, _fund(db)[0]


def _contribution_status(pledged_amount, received_amount):
    if received_amount == 0:
        return "pledged"
    return "partially_received" if received_amount < pledged_amount else "received"


def _outcome_totals_sql(user, where, params):
    """results.selectors.reported_grants_visible_to + _outcome_totals."""
    if "fund_manager" not in user.roles and not user.superuser:
        where += " AND (r.accepted_at IS NOT NULL OR g.task_team_leader_id = %s)"
        params = [*params, user.id]
    sums = ", ".join(f"count(*) FILTER (WHERE r.{o})" for o in OUTCOMES)
    return (
        f"SELECT count(*), {sums} FROM grants_grant g JOIN results_completionreport r "
        f"ON r.grant_id = g.id WHERE {where} AND g.status IN ('completed', 'closed')",
        params,
    )


def donor_dashboard(db, user, query):
    if "donor" not in user.roles or user.partner_id is None:
        return 404, {"detail": "Not found."}
    partner = db.one("SELECT id, code, name FROM partners_partner WHERE id = %s", [user.partner_id])
    contributions = db.all(
        """SELECT id, reference, currency, pledged_amount, pledged_usd, received_amount,
                  received_usd FROM partners_contribution WHERE partner_id = %s
           ORDER BY signed_on, id""",
        [user.partner_id],
    )
    summary, fund_received = _fund(db)
    rows = db.all(
        """SELECT g.region, g.sector_id, s.name, g.status, count(*), SUM(g.approved_usd)
           FROM grants_grant g JOIN partners_sector s ON s.code = g.sector_id
           WHERE g.status IN %s GROUP BY g.region, g.sector_id, s.name, g.status""",
        [APPROVED_AND_LATER],
    )
    where, params = user.visible()
    sql, params = _outcome_totals_sql(user, where, params)
    totals = db.one(sql, params)
    by = {"region": {}, "sector": {}, "status": {}}
    for region, sector, name, status, n, approved in rows:
        for key, label in (("region", region), ("sector", (sector, name)), ("status", status)):
            entry = by[key].setdefault(label, [0, Decimal("0")])
            entry[0] += n
            entry[1] += approved or 0
    received = sum((c[6] for c in contributions), Decimal("0.00"))
    pledged = sum((c[4] for c in contributions), Decimal("0.00"))
    share = (received / fund_received * 100).quantize(CENT) if fund_received else Decimal("0.00")
    items = []
    for cid, reference, currency, p_amount, p_usd, r_amount, r_usd in contributions:
        outstanding = (
            Decimal("0.00")
            if r_amount >= p_amount
            else (p_usd * (p_amount - r_amount) / p_amount).quantize(CENT)
        )
        items.append(
            {
                "id": cid,
                "reference": reference,
                "currency": currency,
                "pledged_amount": money(p_amount),
                "pledged_usd": money(p_usd),
                "received_usd": money(r_usd),
                "outstanding_usd": money(outstanding),
                "status": _contribution_status(p_amount, r_amount),
            }
        )
    return 200, {
        "partner": {"id": partner[0], "code": partner[1], "name": partner[2]},
        "contributions": items,
        "pledged_usd": money(pledged),
        "received_usd": money(received),
        "share_of_fund_received_percent": money(share),
        "fund": summary,
        "portfolio": {
            "by_region": [
                {"grants": n, "approved_usd": money(a), "region": k}
                for k, (n, a) in sorted(by["region"].items())
            ],
            "by_sector": [
                {"grants": n, "approved_usd": money(a), "sector": k[0], "name": k[1]}
                for k, (n, a) in sorted(by["sector"].items())
            ],
            "by_status": [
                {"grants": n, "approved_usd": money(a), "status": k}
                for k, (n, a) in sorted(by["status"].items())
            ],
        },
        "windows": [
            {
                "code": code,
                "name": name,
                "kind": kind,
                "region": region,
                "status": status,
                "allocated_usd": money(allocated),
                "committed_usd": money(committed),
                "disbursed_usd": money(disbursed),
                "available_usd": money(allocated - committed),
                "grants": financed,
            }
            for (
                code,
                name,
                kind,
                region,
                status,
                allocated,
                committed,
                disbursed,
                financed,
            ) in db.all(
                """SELECT w.code, w.name, w.kind, w.region, w.status, w.allocated_usd,
                          w.committed_usd, w.disbursed_usd,
                          (SELECT COUNT(*) FROM grants_grant g
                           WHERE g.window_id = w.id AND g.status IN %s)
                   FROM partners_window w ORDER BY w.code""",
                (APPROVED_AND_LATER,),
            )
        ],
        "outcome_totals": {"grants": totals[0], **dict(zip(OUTCOMES, totals[1:], strict=True))},
        "cofinancing": _cofinancing_sql(db, partner[0]),
    }


def _cofinancing_sql(db, partner_id) -> dict:
    """results.selectors._cofinancing."""
    total, own, grants = db.one(
        "SELECT COALESCE(SUM(r.cofinancing_usd), 0), "
        "COALESCE(SUM(r.cofinancing_usd) FILTER (WHERE r.partner_id = %s), 0), "
        "COUNT(DISTINCT r.grant_id) FROM grants_grantpartnerrole r "
        "JOIN grants_grant g ON g.id = r.grant_id "
        "WHERE r.role = 'cofinancier' AND g.status = ANY(%s)",
        [partner_id, list(APPROVED_AND_LATER)],
    )
    return {"partner_usd": money(own), "all_usd": money(total), "grants": grants}


def capacity_outcomes(db, user):
    where, params = user.visible()
    if "fund_manager" not in user.roles and not user.superuser:
        where += " AND (r.accepted_at IS NOT NULL OR g.task_team_leader_id = %s)"
        params = [*params, user.id]
    outcome_columns = ", ".join(f"r.{o}" for o in OUTCOMES)
    rows = db.all(
        f"SELECT g.id, g.reference, g.title, {outcome_columns} FROM grants_grant g "
        f"JOIN results_completionreport r ON r.grant_id = g.id "
        f"WHERE {where} AND g.status IN ('completed', 'closed') ORDER BY g.reference, g.id",
        params,
    )
    keys = ("grant", "reference", "title", *OUTCOMES)
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    totals = {"grants": len(rows)}
    for i, name in enumerate(OUTCOMES, start=3):
        totals[name] = sum(1 for r in rows if r[i])
    return 200, {"rows": out, "totals": totals}


def stories(db, user, environ, query):
    """/results-stories/?search=: published stories (drafts too for fund managers),
    ranked by PostgreSQL full-text search, paginated."""
    text = (query.get("search") or [""])[0]
    where = "TRUE" if ("fund_manager" in user.roles or user.superuser) else "s.published"
    size = min(500, int((query.get("page_size") or ["50"])[0]))
    tsquery = "websearch_to_tsquery('english'::regconfig, %s)"
    count = db.one(
        f"SELECT count(*) FROM results_resultsstory s WHERE {where} "
        f"AND s.search_vector @@ {tsquery}",
        [text],
    )[0]
    rows = db.all(
        f"""SELECT s.id, s.slug, s.grant_id, g.reference, s.title, s.body, s.body_html,
               ARRAY(SELECT t.sector_id FROM results_resultsstory_sectors t
                     WHERE t.resultsstory_id = s.id ORDER BY t.sector_id),
               ARRAY(SELECT c.code FROM results_resultsstory_countries t
                     JOIN partners_country c ON c.code = t.country_id
                     WHERE t.resultsstory_id = s.id ORDER BY c.name),
               ARRAY(SELECT t.outcome_id FROM results_resultsstory_outcomes t
                     WHERE t.resultsstory_id = s.id ORDER BY t.outcome_id),
               s.published, s.published_at
           FROM results_resultsstory s JOIN grants_grant g ON g.id = s.grant_id
           WHERE {where} AND s.search_vector @@ {tsquery}
           ORDER BY ts_rank(s.search_vector, {tsquery}) DESC,
                    s.published_at DESC NULLS LAST, s.id DESC
           LIMIT %s""",
        [text, text, size],
    )
    keys = [
        "id",
        "slug",
        "grant",
        "grant_reference",
        "title",
        "body",
        "body_html",
        "sectors",
        "countries",
        "outcomes",
        "published",
        "published_at",
    ]
    results = []
    for r in rows:
        item = dict(zip(keys, r, strict=True))
        item["published_at"] = stamp(item["published_at"])
        results.append(item)
    return 200, {
        "count": count,
        "next": _replace(environ, query, "page", 2) if count > size else None,
        "previous": None,
        "results": results,
    }


# --- Brokering (brokering.api.views) ------------------------------------------------------
# The catalogue as the API pages it, and the suggestions ranked by the very statement the
# API runs (brokering.ranking_sql: plain Python, the same text and parameters), with
# the request, the evidence and the offers shown read by hand: five queries, not nine.

INSTRUMENT_LABELS = {
    "study_tour": "Study tour",
    "videoconference": "Videoconference",
    "peer_consultation": "Peer consultation",
    "workshop": "Workshop",
    "expert_visit": "Expert visit",
    "conference": "Conference",
}
OFFER_KEYS = [
    "id",
    "reference",
    "title",
    "description",
    "description_html",
    "provider_country",
    "institution",
    "sectors",
    "instruments",
    "languages",
    "capacity_per_year",
    "capacity_left",
    "status",
    "contact_name",
    "contact_email",
]


def _year() -> int:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "UTC"))).year


def _like(word: str) -> str:
    """``icontains``' pattern, as Django escapes it."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _offers(db, where: str, params, order: str = "o.id", limit=None) -> list[dict]:
    """Offers as OfferSerializer gives them (with the contacts: every user measured has a
    role), in one query: their sectors and this year's matches as subqueries."""

    rows = db.all(
        f"""SELECT o.id, o.reference, o.title, o.description, o.rendered_description,
               o.provider_country_id, o.institution,
               ARRAY(SELECT s.sector_id FROM brokering_offer_sectors s
                     WHERE s.offer_id = o.id ORDER BY s.sector_id),
               o.instruments, o.languages, o.capacity_per_year,
               o.capacity_per_year - (SELECT count(*) FROM brokering_match m
                                      WHERE m.offer_id = o.id AND m.year = %s),
               o.status, o.contact_name, o.contact_email
           FROM brokering_offer o WHERE {where} ORDER BY {order}"""
        + ("" if limit is None else f" LIMIT {int(limit)}"),
        [_year(), *params],
    )
    # The description as the offers' writers keep it rendered, as the API reads it.
    return [dict(zip(OFFER_KEYS, r, strict=True)) for r in rows]


def offers(db, user, environ, query):
    """/offers/?search=&language=: the catalogue's first page (published offers and the
    user's own; every offer for fund managers)."""
    parts, params = [], []
    if "fund_manager" not in user.roles and not user.superuser:
        parts.append("(o.status = 'published' OR o.created_by_id = %s)")
        params.append(user.id)
    for word in (query.get("search") or [""])[0].split()[:10]:
        parts.append(
            "(UPPER(o.title::text) LIKE UPPER(%s) OR UPPER(o.description::text) LIKE UPPER(%s)"
            " OR UPPER(o.institution::text) LIKE UPPER(%s))"
        )
        params += [_like(word)] * 3
    language = (query.get("language") or [""])[0]
    if language:
        parts.append("o.languages::text LIKE %s")
        params.append(_like(f'"{language}"'))
    where = " AND ".join(parts) or "TRUE"
    size = 50
    count = db.one(f"SELECT count(*) FROM brokering_offer o WHERE {where}", params)[0]
    results = _offers(db, where, params, limit=size)
    return 200, {
        "count": count,
        "next": _replace(environ, query, "page", 2) if count > size else None,
        "previous": None,
        "results": results,
    }


def suggestions(db, user, pk: int):
    """/requests/{id}/suggestions/: the request, its providers' evidence, the ranking
    statement, the offers shown; the reasons written here as brokering.scoring writes
    them."""
    from brokering import ranking_sql as rs
    from brokering.languages import language_name

    if not (user.roles or user.superuser):
        return 404, {"detail": "Not found."}
    found = db.one(
        """SELECT r.title, r.description, r.languages, r.instruments, c.code,
                  c.income_group, c.region,
                  ARRAY(SELECT s.sector_id FROM brokering_exchangerequest_sectors s
                        WHERE s.exchangerequest_id = r.id)
           FROM brokering_exchangerequest r
           JOIN partners_country c ON c.code = r.recipient_country_id WHERE r.id = %s""",
        [pk],
    )
    if found is None:
        return 404, {"detail": "Not found."}
    title, description, languages, instruments, country, income, region, wanted = found
    wanted = set(wanted)
    categories = {code[:3] for code in wanted}
    if not categories:
        return 200, []
    ratings: dict[str, list] = {}
    for code, rating in db.all(
        """SELECT pc.country_id, cr.rating FROM grants_grant_provider_countries pc
           JOIN grants_grant g ON g.id = pc.grant_id
           JOIN results_completionreport cr ON cr.grant_id = g.id
           WHERE g.sector_id = ANY(%s) AND cr.accepted_at IS NOT NULL AND cr.rating <> ''""",
        [sorted(wanted)],
    ):
        ratings.setdefault(code, []).append(rating)
    order = list(rs.RATING_POINTS)
    evidence = {}
    for code, reports in ratings.items():
        points = sum(rs.RATING_POINTS.get(r, 0) for r in reports)
        points = max(rs.EVIDENCE_MIN, min(rs.EVIDENCE_MAX, points))
        shown = sorted(reports, key=lambda r: order.index(r) if r in order else 99)
        evidence[code] = (
            points,
            f"evidence: {len(reports)} accepted completion report(s) in the sector, "
            f"rated {', '.join(shown)} ({points:+d})",
        )
    offers_table = '"brokering_offer"'
    likes = " OR ".join("s.sector_id LIKE %s" for _ in categories)
    statement, params = rs.ranking_statement(
        weights=rs.WEIGHTS,
        offers=offers_table,
        sectors="brokering_offer_sectors",
        matches="brokering_match",
        countries="partners_country",
        candidates_where=(
            f"{offers_table}.id IN (SELECT s.offer_id FROM brokering_offer_sectors s "
            f"WHERE {likes}) AND {offers_table}.status = 'published' "
            f"AND {offers_table}.provider_country_id <> %s"
        ),
        candidates_params=[f"{c}%" for c in sorted(categories)] + [country],
        wanted=sorted(wanted),
        languages=sorted(set(languages)),
        instruments=sorted(set(instruments)),
        year=_year(),
        income_group=income,
        region=region,
        evidence={code: e[0] for code, e in evidence.items()},
        words=sorted(rs.words(f"{title} {description}"))[: rs.MAX_QUERY_WORDS],
        limit=rs.DEFAULT_LIMIT,
    )
    ranked = [dict(zip(rs.COLUMNS, row, strict=True)) for row in db.all(statement, params)]
    if not ranked:
        return 200, []
    shown = {o["id"]: o for o in _offers(db, "o.id = ANY(%s)", [[r["id"] for r in ranked]])}
    out = []
    for row in ranked:
        offer = shown[row["id"]]
        sectors = set(offer["sectors"])
        reasons = []
        same = sorted(sectors & wanted)
        if same:
            reasons.append(f"same DAC purpose code {', '.join(same)}")
        else:
            near = sorted({s for s in sectors if s[:3] in categories})
            reasons.append(f"same DAC category ({', '.join(s[:3] for s in near[:3])})")
        common = sorted(set(languages) & set(offer["languages"]))
        if common:
            reasons.append(f"shared language: {', '.join(language_name(c) for c in common)}")
        both = sorted(set(instruments) & set(offer["instruments"]))
        if both:
            reasons.append(
                "an instrument both want: " + ", ".join(INSTRUMENT_LABELS.get(i, i) for i in both)
            )
        capacity = row["capacity_per_year"]
        left = capacity - row["used"]
        if left > 0:
            reasons.append(f"capacity left this year: {left} of {capacity}")
        else:
            reasons.append(f"capacity exhausted this year ({capacity} matched)")
        if row["provider_country_id"] in evidence:
            reasons.append(evidence[row["provider_country_id"]][1])
        if row["same_income"]:
            reasons.append("provider in the same income group")
        if row["same_region"]:
            reasons.append("provider in the same region")
        points = round(rs.WEIGHTS["text_similarity_max"] * float(row["text_rank"] or 0.0), 2)
        if points >= 0.01:
            reasons.append(f"similar descriptions (+{points:.2f})")
        out.append({"offer": offer, "score": float(row["score"]), "reasons": reasons})
    return 200, out


# --- The analytics reports (analytics.cycletimes_sql, flows_sql) ----------------------------
# The reports' own statements, written by `manage.py bench_statements` (bench/run does it
# before starting this floor, BENCH_STATEMENTS names the file), with this floor's SQL for
# the grants the user may see in place of ``__SCOPED__``; the rows shaped as the API
# shapes them, by hand. Cycle times by quarter and flows by country: what bench/run asks.

_statements = None


def _analytics_statements() -> dict:
    global _statements
    if _statements is None:
        with open(os.environ["BENCH_STATEMENTS"], encoding="utf-8") as found:
            _statements = json.load(found)
    return _statements


def _bind(statement: str, user, zone: str) -> tuple[str, list]:
    import re

    where, where_params = user.visible()
    scoped = f"SELECT g.id FROM grants_grant g WHERE {where}"
    parts = re.split(r"(__SCOPED__|__ZONE__)", statement.replace("%", "%%"))
    params: list = []
    for index, part in enumerate(parts):
        if part == "__SCOPED__":
            parts[index] = scoped
            params += where_params
        elif part == "__ZONE__":
            parts[index] = "%s"
            params.append(zone)
    return "".join(parts), params


def _days(value):
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP"))


def _cycle_statistics(values, known) -> dict:
    from decimal import ROUND_HALF_UP

    standards = known["standards"]
    values = iter(values)
    grants = next(values)
    out: dict = {"grants": grants}
    for step in known["steps"]:
        count, median, p80, within = (next(values) for _ in range(4))
        out[f"{step}_count"] = count
        out[f"{step}_median_days"] = _days(median)
        out[f"{step}_p80_days"] = _days(p80)
        share = None
        if standards.get(step) is not None and count:
            share = float(
                (Decimal(within * 100) / count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            )
        out[f"{step}_within_standard_percent"] = share
    returns = next(values) or 0
    out["returns"] = (
        float((Decimal(returns) / grants).quantize(CENT, rounding=ROUND_HALF_UP))
        if grants
        else None
    )
    for wait in known["waits"]:
        out[f"{wait}_median_days"] = _days(next(values))
        out[f"{wait}_p80_days"] = _days(next(values))
    return out


def cycle_times(db, user, query):
    known = _analytics_statements()
    group_by = (query.get("group_by") or ["quarter"])[0]
    if group_by not in known["cycle_times"]:
        return 404, {"detail": "Not measured."}
    statement, params = _bind(known["cycle_times"][group_by], user, known["zone"])
    rows, totals = [], None
    for key, _extra, *values in db.all(statement, params):
        if key is None:
            totals = _cycle_statistics(values, known)
        else:
            rows.append({"group": key, "label": key, **_cycle_statistics(values, known)})
    rows.sort(key=lambda row: row["group"])
    return 200, {"rows": rows, "totals": totals, "standards": known["standards"]}


def exchange_flows(db, user, query):
    """Summed from the kept flow facts (analytics.flows_sql): over the totals per status
    for a user who sees whole statuses, else over the facts of the grants in scope."""
    known = _analytics_statements()
    by = (query.get("by") or ["country"])[0]
    if by not in known["exchange_flows"]:
        return 404, {"detail": "Not measured."}
    statuses = user.statuses()
    if statuses is None:
        statement, params = _bind(known["exchange_flows"][by], user, known["zone"])
    else:
        statement, params = known["exchange_flow_totals"][by], [sorted(statuses)]
    keys = ("grants", "exchanges", "participants", "women_participants")
    rows, totals = [], dict.fromkeys(keys, 0)
    for kind, a, a_name, b, b_name, *figures in db.all(statement, params):
        if kind == "t":
            totals = dict(zip(keys, figures, strict=True))
            continue
        rows.append(
            {
                "provider": a,
                "provider_name": a_name,
                "recipient": b,
                "recipient_name": b_name,
                **dict(zip(keys, figures, strict=True)),
            }
        )
    rows.sort(key=lambda row: (-row["exchanges"], row["provider"], row["recipient"]))
    return 200, {"rows": rows, "totals": totals}


def _percent(part, whole):
    from decimal import ROUND_HALF_UP

    if not whole:
        return None
    return (Decimal(part * 100) / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def portfolio_indicators(db, user):
    """Summed from the kept facts (analytics.indicators_sql, the statements written by
    ``bench_statements``) of the grants approved and later the user may see: over the
    sums per status for a user who sees whole statuses, else over the grants' facts."""
    from decimal import ROUND_HALF_UP

    known = _analytics_statements()["portfolio_indicators"]
    statuses = user.statuses()
    if statuses is None:
        statement, params = _bind(known["statement"], user, "UTC")
    else:
        statement, params = known["totals_statement"], [sorted(statuses & set(APPROVED_AND_LATER))]
    figures = dict.fromkeys(("grants_approved", "grants_completed", "study_tours", "concrete"), 0)
    held = dict.fromkeys(("held", "participants", "women"), 0)
    average = None
    recipients, providers = set(), set()
    for kind, code, grants, done, exchanges, people, women, *rest in db.all(statement, params):
        if kind == "R":
            recipients.add(code)
        elif kind == "P":
            providers.add(code)
        else:
            amount, amounted, tours, concrete = rest
            figures.update(
                grants_approved=grants, grants_completed=done, study_tours=tours, concrete=concrete
            )
            held.update(held=exchanges, participants=people, women=women)
            average = amount / amounted if amounted else None
    completed = figures["grants_completed"]
    found = {
        "grants_approved": (Decimal(figures["grants_approved"]), None, None),
        "grants_completed": (Decimal(completed), None, None),
        "countries_involved": (Decimal(len(recipients | providers)), None, None),
        "recipient_countries": (Decimal(len(recipients)), None, None),
        "provider_countries": (Decimal(len(providers)), None, None),
        "countries_both_roles": (Decimal(len(recipients & providers)), None, None),
        "exchanges_held": (Decimal(held["held"]), None, None),
        "study_tour_share": (
            _percent(figures["study_tours"], completed),
            figures["study_tours"],
            completed,
        ),
        "average_grant_usd": (
            None if average is None else Decimal(average).quantize(CENT, rounding=ROUND_HALF_UP),
            None,
            None,
        ),
        "women_participant_share": (
            _percent(held["women"], held["participants"]),
            held["women"],
            held["participants"],
        ),
        "grants_with_concrete_results": (
            Decimal(figures["concrete"]),
            figures["concrete"],
            completed,
        ),
    }
    rows = []
    for known_row in known["rows"]:
        value, numerator, denominator = found[known_row["indicator"]]
        rows.append(
            {
                **known_row,
                "value": None if value is None else str(value),
                "numerator": numerator,
                "denominator": denominator,
            }
        )
    return 200, {
        "rows": rows,
        "totals": {"indicators": len(rows)},
        "countries": {
            "recipients": sorted(recipients),
            "providers": sorted(providers),
            "both": sorted(recipients & providers),
        },
    }


# --- Windows and notifications (partners.api.windows, collaboration.api) -------------------
# The first page (50 rows) in one query, the count read only when the page is full.

PAGE = 50


def _first_page(environ, query, results, count):
    return 200, {
        "count": count,
        "next": _replace(environ, query, "page", 2) if count > PAGE else None,
        "previous": None,
        "results": results,
    }


def windows(db, user, environ, query):
    if not (user.superuser or user.roles):
        return 403, {"detail": "Only signed-in users of the fund read its funding windows."}
    rows = db.all(
        """SELECT w.id, w.code, w.name, w.kind, w.region,
               ARRAY(SELECT s.sector_id FROM partners_window_sectors s
                     WHERE s.window_id = w.id ORDER BY s.sector_id),
               w.max_grant_usd, w.opens_on, w.closes_on, w.status, w.allocated_usd,
               w.committed_usd, w.disbursed_usd,
               ARRAY(SELECT ARRAY[u.username, a.limit_usd::text]
                     FROM partners_windowapprover a JOIN auth_user u ON u.id = a.user_id
                     WHERE a.window_id = w.id ORDER BY u.username)
           FROM partners_window w ORDER BY w.code LIMIT %s""",
        [PAGE + 1],
    )
    count = len(rows)
    if count > PAGE:
        count = db.one("SELECT count(*) FROM partners_window")[0]
    results = [
        {
            "id": r[0],
            "code": r[1],
            "name": r[2],
            "kind": r[3],
            "region": r[4] or None,
            "sectors": list(r[5]),
            "max_grant_usd": money(r[6]),
            "opens_on": day(r[7]),
            "closes_on": day(r[8]),
            "status": r[9],
            "allocated_usd": money(r[10]),
            "committed_usd": money(r[11]),
            "disbursed_usd": money(r[12]),
            "available_usd": money(r[10] - r[11]),
            "approvers": [
                {"user": username, "limit_usd": money(Decimal(limit))} for username, limit in r[13]
            ],
        }
        for r in rows[:PAGE]
    ]
    return _first_page(environ, query, results, count)


def notifications(db, user, environ, query):
    rows = db.all(
        """SELECT id, kind, grant_id, text, created_at, read_at
           FROM collaboration_notification WHERE user_id = %s
           ORDER BY created_at DESC, id DESC LIMIT %s""",
        [user.id, PAGE + 1],
    )
    count = len(rows)
    if count > PAGE:
        count = db.one(
            "SELECT count(*) FROM collaboration_notification WHERE user_id = %s", [user.id]
        )[0]
    results = [
        {
            "id": r[0],
            "kind": r[1],
            "grant": r[2],
            "text": r[3],
            "created_at": stamp(r[4]),
            "read_at": stamp(r[5]),
        }
        for r in rows[:PAGE]
    ]
    return _first_page(environ, query, results, count)


# --- WSGI ----------------------------------------------------------------------------------


def route(db, environ):
    path = environ["PATH_INFO"]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    user = authenticate(db, environ)
    if user is None:
        return 401, {"detail": "Authentication credentials were not provided."}
    if path == "/api/v1/fund/":
        return fund(db, user)
    if path == "/api/v1/grants/":
        return grant_list(db, user, environ, query)
    if path.startswith("/api/v1/grants/") and path.count("/") == 5:
        pk = path.split("/")[4]
        if pk.isdigit():
            return grant_detail(db, user, int(pk))
    if path == "/api/v1/dashboards/donor/":
        return donor_dashboard(db, user, query)
    if path == "/api/v1/reports/capacity-outcomes/":
        return capacity_outcomes(db, user)
    if path == "/api/v1/results-stories/":
        return stories(db, user, environ, query)
    if path == "/api/v1/reports/cycle-times/":
        return cycle_times(db, user, query)
    if path == "/api/v1/reports/exchange-flows/":
        return exchange_flows(db, user, query)
    if path == "/api/v1/reports/portfolio-indicators/":
        return portfolio_indicators(db, user)
    if path == "/api/v1/windows/":
        return windows(db, user, environ, query)
    if path == "/api/v1/notifications/":
        return notifications(db, user, environ, query)
    if path == "/api/v1/offers/":
        return offers(db, user, environ, query)
    if path.startswith("/api/v1/requests/") and path.endswith("/suggestions/"):
        pk = path.split("/")[4]
        if pk.isdigit():
            return suggestions(db, user, int(pk))
    return 404, {"detail": "Not found."}


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
}


def application(environ, start_response):
    global _connection
    try:
        db = Counted(_cursor())
        status, body = route(db, environ)
    except psycopg2.Error:
        _connection = None
        raise
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        f"{status} {REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("X-Bench-Queries", str(db.count)),
        ],
    )
    return [payload]
