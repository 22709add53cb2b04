"""`/api/v1/lessons/`: the knowledge hub's lessons from accepted completion reports."""

import pytest

from grants.models import GrantStatus
from results.models import CompletionReport
from tests.results.factories import finished_grant

pytestmark = pytest.mark.django_db

URL = "/api/v1/lessons/"
FIELDS = {
    "grant",
    "reference",
    "title",
    "sector",
    "region",
    "countries",
    "outcomes_achieved",
    "lessons",
    "follow_up_needed",
    "follow_up_description",
    "accepted_at",
}


@pytest.fixture
def hub(funded, leader, fund_manager):
    """Three grants with accepted reports that differ in every filtered fact, and two
    whose lessons must not be listed."""
    grants = {
        "honduras": finished_grant(
            leader,
            fund_manager,
            title="Cash transfers",
            lessons="Peer learning worked best when ministers met their counterparts.",
            outcomes=["raised_awareness"],
            instruments=["study_tour"],
        ),
        "kenya": finished_grant(
            leader,
            fund_manager,
            status=GrantStatus.COMPLETED,
            title="Dairy",
            sector="31163",
            region="AFR",
            recipient_countries=["KEN", "TZA"],
            lessons="Cooperatives need a champion in the ministry of agriculture.",
            outcomes=["enhanced_networks"],
            instruments=["videoconference"],
        ),
        "vietnam": finished_grant(
            leader,
            fund_manager,
            title="Renewables",
            sector="23210",
            region="EAP",
            recipient_countries=["IND"],
            lessons="Grid operators trusted data shared by their peers.",
            outcomes=["strengthened_coalitions"],
        ),
    }
    # Submitted but not accepted, and accepted with no lessons written: not listed.
    finished_grant(leader, fund_manager, status=GrantStatus.COMPLETED, accept=False)
    finished_grant(leader, fund_manager, lessons="")
    return grants


def _grants(response):
    assert response.status_code == 200, response.content
    return [row["grant"] for row in response.json()["results"]]


@pytest.mark.parametrize("role", ["fund_manager", "leader", "donor"])
def test_roles_read_the_lessons_of_accepted_reports_only(client_for, hub, role):
    assert _grants(client_for(role).get(URL)) == [
        hub["vietnam"].id,
        hub["kenya"].id,
        hub["honduras"].id,
    ]


def test_anonymous_users_get_401_and_users_without_a_role_403(client_for, hub):
    assert client_for("anonymous").get(URL).status_code == 401
    refused = client_for("no_role").get(URL)
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


def test_writing_is_not_offered(client_for, hub):
    """Lessons are read from accepted completion reports (a list, no detail route): no
    method writes them."""
    client = client_for("fund_manager")
    before = list(CompletionReport.objects.values())
    body = {"grant": CompletionReport.objects.first().grant_id, "lessons": "Rewritten."}
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(URL, body).status_code == 405, method
    assert list(CompletionReport.objects.values()) == before


def test_a_lesson_has_the_documented_shape(client_for, hub):
    kenya = hub["kenya"]
    row = client_for("donor").get(URL, {"grant": kenya.id}).json()["results"][0]
    assert set(row) == FIELDS
    assert row["grant"] == kenya.id
    assert row["reference"] == kenya.reference
    assert row["title"] == "Dairy"
    assert (row["sector"], row["region"]) == ("31163", "AFR")
    assert sorted(row["countries"]) == ["KEN", "TZA"]
    assert row["outcomes_achieved"] == ["enhanced_networks"]
    assert row["lessons"] == "Cooperatives need a champion in the ministry of agriculture."
    assert (row["follow_up_needed"], row["follow_up_description"]) == (False, "")
    assert row["accepted_at"] == kenya.completion_report.accepted_at.isoformat().replace(
        "+00:00", "Z"
    )


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"sector": "31163"}, {"kenya"}),
        ({"country": "TZA"}, {"kenya"}),
        ({"country": "HND"}, {"honduras"}),
        ({"region": "AFR"}, {"kenya"}),
        # The grant's region, or one of its recipient countries' (India is SAR).
        ({"region": "EAP"}, {"vietnam"}),
        ({"region": "SAR"}, {"vietnam"}),
        ({"outcome": "enhanced_networks"}, {"kenya"}),
        ({"outcome": "raised_awareness"}, {"honduras"}),
        ({"instrument": "study_tour"}, {"honduras"}),
        ({"instrument": "videoconference"}, {"kenya"}),
        ({"instrument": "conference"}, set()),
        ({"search": "champion"}, {"kenya"}),
        ({"search": "TRUSTED"}, {"vietnam"}),
        ({"search": "peer learning"}, {"honduras"}),
        ({"search": "nothing-like-this"}, set()),
        ({"sector": "16010", "outcome": "enhanced_networks"}, set()),
    ],
)
def test_each_filter(client_for, hub, params, expected):
    grants = _grants(client_for("fund_manager").get(URL, params))
    assert len(grants) == len(set(grants)), "a lesson was listed twice"
    assert set(grants) == {hub[name].id for name in expected}


@pytest.mark.parametrize(
    "params",
    [{"sector": "1"}, {"country": "ZZZ"}, {"region": "X"}, {"outcome": "x"}, {"grant": "x"}],
)
def test_invalid_filter_values_are_400(client_for, params):
    response = client_for("donor").get(URL, params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


# count, page (grant joined), recipient countries; + the user's roles.
LESSON_QUERIES = 4


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_runs_a_fixed_number_of_queries(
    fresh_client, funded, leader, fund_manager, donor, count, django_assert_num_queries
):
    for i in range(count):
        finished_grant(leader, fund_manager, title=f"Grant {i}")

    client = fresh_client(donor)
    with django_assert_num_queries(LESSON_QUERIES):
        response = client.get(URL, {"page_size": 100})
    assert response.json()["count"] == count
    client = fresh_client(donor)
    params = {"page_size": 100, "search": "peer", "country": "HND", "region": "LCR"}
    with django_assert_num_queries(LESSON_QUERIES + 1):  # + checking the country code
        response = client.get(URL, params)
    assert response.json()["count"] == count
