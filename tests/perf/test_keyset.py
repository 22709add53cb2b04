"""The grant list's keyset cursors (`?cursor=`): the same grants as the pages, in the
same order (ties by id), forward and back; a cursor is valid for its ordering only."""

import base64
import json

import pytest

pytestmark = pytest.mark.django_db


def walk(client, url, key="next"):
    ids, body = [], None
    while url:
        body = client.get(url).json()
        ids += [g["id"] for g in body["results"]]
        url = body[key]
    return ids, body


@pytest.mark.parametrize(
    "ordering", ["-created_at", "-requested_usd", "requested_usd", "title", "planned_end"]
)
def test_cursors_walk_the_pages_grants_in_the_same_order(
    fresh_client, ordering, portfolio, role_users
):
    portfolio(90)
    client = fresh_client(role_users()["fund_manager"])
    query = f"/api/v1/grants/?status=closed&status=approved&ordering={ordering}&page_size=8"
    by_page, _ = walk(client, query)
    by_cursor, last = walk(client, query + "&cursor=")
    assert by_cursor == by_page and len(set(by_page)) == len(by_page) > 8
    assert last["count"] == len(by_page) and last["next"] is None
    # And back from the last page to the first.
    back = [g["id"] for g in last["results"]]
    url = last["previous"]
    while url:
        body = client.get(url).json()
        back = [g["id"] for g in body["results"]] + back
        url = body["previous"]
    assert back == by_page


def test_nullable_orderings_put_grants_without_a_value_last(fresh_client, portfolio, role_users):
    portfolio(90)
    client = fresh_client(role_users()["fund_manager"])
    ids, _ = walk(client, "/api/v1/grants/?ordering=-decided_at&page_size=7&cursor=")
    page_ids, _ = walk(client, "/api/v1/grants/?ordering=-decided_at&page_size=500")
    assert sorted(ids) == sorted(page_ids)
    body = client.get("/api/v1/grants/?ordering=-decided_at&page_size=500&cursor=").json()
    decided = [g["decided_at"] for g in body["results"]]
    undecided = decided.index(None)
    assert all(d is None for d in decided[undecided:])
    assert decided[:undecided] == sorted(decided[:undecided], reverse=True)


@pytest.mark.parametrize("ordering", ["-decided_at", "decided_at", "-approved_usd"])
def test_pages_that_reach_the_grants_without_a_value_keep_the_order(
    fresh_client, portfolio, role_users, ordering
):
    """A position with a value reads the grants with one apart from those without (the
    index's seek): the walk, forward and back, is still the one list, each page whole,
    the page that crosses from the dated grants to the undated ones included."""
    portfolio(90)
    client = fresh_client(role_users()["fund_manager"])
    whole = client.get(f"/api/v1/grants/?ordering={ordering}&page_size=500&cursor=").json()
    expected = [g["id"] for g in whole["results"]]
    field = ordering.lstrip("-")
    dated = sum(g[field] is not None for g in whole["results"])
    assert 10 < dated < len(expected)
    size = next(n for n in range(4, 10) if dated % n)  # a page holds both kinds
    pages, url = [], f"/api/v1/grants/?ordering={ordering}&page_size={size}&cursor="
    while url:
        body = client.get(url).json()
        pages.append([g["id"] for g in body["results"]])
        url = body["next"]
    assert [i for page in pages for i in page] == expected
    assert all(len(page) == size for page in pages[:-1])
    back, url = list(pages[-1]), body["previous"]
    while url:
        body = client.get(url).json()
        assert len(body["results"]) == size
        back = [g["id"] for g in body["results"]] + back
        url = body["previous"]
    assert back == expected


def test_a_cursor_for_another_ordering_or_malformed_is_a_404(fresh_client, portfolio, role_users):
    portfolio(40)
    client = fresh_client(role_users()["fund_manager"])
    body = client.get("/api/v1/grants/?ordering=title&page_size=5&cursor=").json()
    cursor = body["next"].split("cursor=")[1].split("&")[0]
    response = client.get(f"/api/v1/grants/?ordering=-title&cursor={cursor}")
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor."
    for bad in ("x", "eyJv", "%%%", "e30"):
        assert client.get(f"/api/v1/grants/?cursor={bad}").status_code == 404
    # Well-formed, but with values the columns cannot hold.
    for values in (["NaN", 1], ["1e40", 1], ["1.00", 2**70], [[1], 1], [{"a": 1}, "x"]):
        cursor = encode({"o": ["-requested_usd", "-id"], "v": values, "r": 0})
        response = client.get(f"/api/v1/grants/?ordering=-requested_usd&cursor={cursor}")
        assert response.status_code == 404, values


def encode(payload) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_the_page_number_mode_is_unchanged(fresh_client, portfolio, role_users):
    """No cursor: `?page=` as before, with `next`/`previous` page links."""
    portfolio(40)
    client = fresh_client(role_users()["fund_manager"])
    body = client.get("/api/v1/grants/?page=2&page_size=5").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert "page=3" in body["next"] and "cursor" not in body["next"]
    assert body["previous"].endswith("?page_size=5")
