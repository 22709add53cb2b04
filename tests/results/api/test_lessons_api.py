"""`/api/v1/lessons/`: lessons with evidence. A leader writes them for their own grants;
a fund manager reviews them (approve, return); only reviewed lessons are public. Every
change is in the audit log."""

import importlib

import pytest
from django.apps import apps as global_apps

from audit.models import AuditEntry
from grants.models import GrantStatus
from results import services
from results.models import CompletionReport, Lesson, LessonReview
from tests.grants.factories import make_grant
from tests.results.factories import finished_grant, review_lessons

pytestmark = pytest.mark.django_db

URL = "/api/v1/lessons/"
FIELDS = {
    "id",
    "grant",
    "reference",
    "title",
    "sector",
    "region",
    "countries",
    "completion_report",
    "what_worked",
    "what_did_not",
    "why",
    "outcomes",
    "evidence_level",
    "review_status",
    "review_comment",
    "reviewed_at",
    "created_at",
}


@pytest.fixture
def hub(funded, leader, leader2, fund_manager):
    """Three grants whose report lessons were reviewed, differing in every filtered fact,
    and lessons not public: one waiting (leader2's), one returned, one not accepted."""
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
    review_lessons(fund_manager)
    kenya = Lesson.objects.get(grant=grants["kenya"])
    services.lesson_return(lesson=kenya, user=fund_manager, comment="Say why.")
    services.lesson_update(lesson=kenya, user=leader, why="A champion opens doors.")
    services.lesson_approve(lesson=kenya, user=fund_manager)
    vietnam = Lesson.objects.get(grant=grants["vietnam"])
    Lesson.objects.filter(pk=vietnam.pk).update(evidence_level="participant_feedback")
    grants["waiting"] = finished_grant(leader2, fund_manager, title="Waiting", lessons="Wait.")
    grants["returned"] = finished_grant(leader, fund_manager, title="Returned", lessons="Vague.")
    services.lesson_return(
        lesson=Lesson.objects.get(grant=grants["returned"]), user=fund_manager, comment="Vague."
    )
    return grants


def _grants(response):
    assert response.status_code == 200, response.content
    return [row["grant"] for row in response.json()["results"]]


def _ids(hub, *names):
    return {hub[name].id for name in names}


PUBLIC = ("honduras", "kenya", "vietnam")


@pytest.mark.parametrize(
    "role, expected",
    [
        ("anonymous", PUBLIC),
        ("donor", PUBLIC),
        ("no_role", PUBLIC),
        ("other_leader", (*PUBLIC, "waiting")),
        ("leader", (*PUBLIC, "returned")),
        ("fund_manager", (*PUBLIC, "waiting", "returned")),
    ],
)
def test_who_sees_which_lessons(client_for, hub, role, expected):
    """Reviewed lessons are public; a leader also sees their own unreviewed ones, fund
    managers all."""
    grants = _grants(client_for(role).get(URL))
    assert len(grants) == len(set(grants))
    assert set(grants) == _ids(hub, *expected)


def test_a_lesson_is_not_public_before_review(client_for, funded, leader, fund_manager):
    grant = finished_grant(leader, fund_manager, lessons="Peers convince.")
    lesson = Lesson.objects.get(grant=grant)
    assert (lesson.review_status, lesson.evidence_level) == ("pending", "self_reported")
    anon = client_for("anonymous")
    assert anon.get(URL).json()["count"] == 0
    assert anon.get(f"{URL}{lesson.pk}/").status_code == 404
    assert client_for("donor").get(f"{URL}{lesson.pk}/").status_code == 404
    approved = client_for(fund_manager).post(f"{URL}{lesson.pk}/approve/", {"comment": "Good."})
    assert approved.status_code == 200, approved.content
    assert approved.json()["review_status"] == "approved"
    body = anon.get(f"{URL}{lesson.pk}/").json()
    assert body["what_worked"] == "Peers convince." and body["reviewed_at"]
    # Returned, it leaves the hub again.
    returned = client_for(fund_manager).post(f"{URL}{lesson.pk}/return/", {"comment": "Why?"})
    assert returned.json()["review_status"] == "returned"
    assert anon.get(f"{URL}{lesson.pk}/").status_code == 404


def test_a_lesson_has_the_documented_shape(client_for, hub):
    kenya = hub["kenya"]
    row = client_for("anonymous").get(URL, {"grant": kenya.id}).json()["results"][0]
    assert set(row) == FIELDS
    assert (row["grant"], row["reference"], row["title"]) == (kenya.id, kenya.reference, "Dairy")
    assert (row["sector"], row["region"]) == ("31163", "AFR")
    assert sorted(row["countries"]) == ["KEN", "TZA"]
    assert row["outcomes"] == ["enhanced_networks"]
    assert row["what_worked"] == "Cooperatives need a champion in the ministry of agriculture."
    assert row["why"] == "A champion opens doors."
    assert (row["evidence_level"], row["review_status"]) == ("self_reported", "approved")
    assert row["completion_report"] == kenya.completion_report.pk


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"evidence_level": "participant_feedback"}, {"vietnam"}),
        ({"evidence_level": "self_reported"}, {"honduras", "kenya"}),
        ({"evidence_level": "independent_review"}, set()),
        ({"sector": "31163"}, {"kenya"}),
        ({"sector": "23210", "evidence_level": "participant_feedback"}, {"vietnam"}),
        ({"sector": "23210", "evidence_level": "self_reported"}, set()),
        ({"country": "TZA"}, {"kenya"}),
        ({"region": "SAR"}, {"vietnam"}),
        ({"outcome": "enhanced_networks"}, {"kenya"}),
        ({"instrument": "study_tour"}, {"honduras"}),
        ({"search": "champion"}, {"kenya"}),
        ({"search": "doors"}, {"kenya"}),  # in "why"
        ({"search": "TRUSTED"}, {"vietnam"}),
        ({"search": "nothing-like-this"}, set()),
        ({"review_status": "returned"}, set()),  # not public
    ],
)
def test_each_filter(client_for, hub, params, expected):
    grants = _grants(client_for("anonymous").get(URL, params))
    assert len(grants) == len(set(grants)), "a lesson was listed twice"
    assert set(grants) == {hub[name].id for name in expected}


def test_fund_managers_filter_by_review_state(client_for, hub):
    grants = _grants(client_for("fund_manager").get(URL, {"review_status": "pending"}))
    assert set(grants) == _ids(hub, "waiting")


@pytest.mark.parametrize(
    "params",
    [{"evidence_level": "rumour"}, {"review_status": "x"}, {"sector": "1"}, {"grant": "x"}],
)
def test_invalid_filter_values_are_400(client_for, params):
    response = client_for("anonymous").get(URL, params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


# --- Writing -------------------------------------------------------------------------------


def _body(grant, **overrides):
    return {
        "grant": grant.pk,
        "what_worked": "Sending the same officials twice.",
        "what_did_not": "A single visit.",
        "why": "Trust takes time.",
        "outcomes": ["enhanced_networks"],
        "evidence_level": "independent_review",
        **overrides,
    }


@pytest.mark.parametrize(
    "role, status, code",
    [
        ("leader", 201, None),
        ("other_leader", 403, "permission_denied"),  # sees the grant, is not its leader
        ("fund_manager", 403, "permission_denied"),  # reviews, does not write
        ("donor", 403, "permission_denied"),
        ("anonymous", 401, None),
    ],
)
def test_a_leader_writes_lessons_for_own_grants(client_for, closed_grant, role, status, code):
    before = Lesson.objects.count()
    response = client_for(role).post(URL, _body(closed_grant), format="json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    if status != 201:
        assert Lesson.objects.count() == before
        return
    body = response.json()
    assert (body["review_status"], body["evidence_level"]) == ("pending", "independent_review")
    assert body["outcomes"] == ["enhanced_networks"]
    entry = AuditEntry.objects.get(action="lesson.create", object_id=str(body["id"]))
    assert entry.changes["what_worked"] == [None, "Sending the same officials twice."]
    # Not public until reviewed.
    assert client_for("anonymous").get(f"{URL}{body['id']}/").status_code == 404


def test_bad_lessons_are_400_and_write_nothing(client_for, funded, leader, closed_grant):
    client = client_for(leader)
    before = Lesson.objects.count()
    empty = _body(closed_grant, what_worked="", what_did_not=" ", why="")
    assert client.post(URL, empty, format="json").status_code == 400
    draft = make_grant(leader, GrantStatus.DRAFT)
    response = client.post(URL, _body(draft), format="json")
    assert (response.status_code, set(response.json())) == (400, {"grant"})
    assert (
        client.post(URL, _body(closed_grant, evidence_level="x"), format="json").status_code == 400
    )
    assert client.post(URL, _body(closed_grant, outcomes=["x"]), format="json").status_code == 400
    long = _body(closed_grant, why="x" * 5001)
    assert client.post(URL, long, format="json").status_code == 400
    assert Lesson.objects.count() == before


def test_editing_and_reviewing_follow_the_review_state(
    client_for, leader, fund_manager, closed_grant
):
    leader_client, manager = client_for(leader), client_for(fund_manager)
    lesson_id = leader_client.post(URL, _body(closed_grant), format="json").json()["id"]
    edited = leader_client.patch(f"{URL}{lesson_id}/", {"why": "Trust."}, format="json")
    assert (edited.status_code, edited.json()["why"]) == (200, "Trust.")
    # The leader may not review their own lesson (they see it: 403).
    refused = leader_client.post(f"{URL}{lesson_id}/approve/")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    # Others do not see it before review: 404.
    assert client_for("donor").post(f"{URL}{lesson_id}/approve/").status_code == 404
    assert client_for("other_leader").patch(f"{URL}{lesson_id}/", {"why": "x"}).status_code == 404
    assert manager.post(f"{URL}{lesson_id}/approve/").status_code == 200
    again = manager.post(f"{URL}{lesson_id}/approve/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    frozen = leader_client.patch(f"{URL}{lesson_id}/", {"why": "Changed."}, format="json")
    assert (frozen.status_code, frozen.json()["code"]) == (409, "invalid_transition")
    assert Lesson.objects.get(pk=lesson_id).why == "Trust."
    manager.post(f"{URL}{lesson_id}/return/", {"comment": "Add evidence."})
    fixed = leader_client.patch(f"{URL}{lesson_id}/", {"why": "Trust, as seen."}, format="json")
    assert fixed.json()["review_status"] == "pending"
    # A fund manager may not edit a lesson (403), nor anyone delete one (405).
    assert manager.patch(f"{URL}{lesson_id}/", {"why": "x"}, format="json").status_code == 403
    assert manager.delete(f"{URL}{lesson_id}/").status_code == 405
    actions = list(
        AuditEntry.objects.filter(object_id=str(lesson_id), action__startswith="lesson.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "lesson.create",
        "lesson.update",
        "lesson.approve",
        "lesson.return",
        "lesson.update",
    ]


def test_submitting_a_report_makes_a_waiting_self_reported_lesson(funded, leader, fund_manager):
    grant = finished_grant(leader, fund_manager, lessons="Peers convince.", accept=False)
    lesson = Lesson.objects.get(grant=grant)
    assert lesson.completion_report == grant.completion_report
    assert (lesson.review_status, lesson.evidence_level) == (LessonReview.PENDING, "self_reported")
    assert sorted(lesson.outcomes.values_list("code", flat=True)) == sorted(
        grant.completion_report.outcomes_achieved
    )
    # No lessons written: no lesson.
    empty = finished_grant(leader, fund_manager, lessons="")
    assert not Lesson.objects.filter(grant=empty).exists()


def test_the_data_migration_makes_lessons_of_report_lessons(funded, leader, fund_manager):
    """Migration 0006: each report's lessons text becomes a self-reported lesson,
    approved when the report was accepted, waiting otherwise; a second run adds none."""
    accepted = finished_grant(leader, fund_manager, lessons="Accepted lesson.")
    waiting = finished_grant(leader, fund_manager, lessons="Waiting lesson.", accept=False)
    Lesson.objects.all().delete()  # as before the migration
    migration = importlib.import_module("results.migrations.0007_lessons_and_feedback")
    migration.reports_to_lessons(global_apps, None)
    migration.reports_to_lessons(global_apps, None)
    lessons = {lesson.grant_id: lesson for lesson in Lesson.objects.all()}
    assert set(lessons) == {accepted.pk, waiting.pk}
    report = CompletionReport.objects.get(grant=accepted)
    first = lessons[accepted.pk]
    assert (first.review_status, first.reviewed_at) == ("approved", report.accepted_at)
    assert first.reviewed_by == fund_manager and first.what_worked == "Accepted lesson."
    assert sorted(first.outcomes.values_list("code", flat=True)) == sorted(report.outcomes_achieved)
    assert lessons[waiting.pk].review_status == "pending"


def test_a_fund_manager_does_not_review_the_lessons_of_own_grant(
    client_for, fm_leader, funded, fund_manager
):
    grant = finished_grant(fm_leader, fund_manager, lessons="Own lesson.")
    lesson = Lesson.objects.get(grant=grant)
    refused = client_for(fm_leader).post(f"{URL}{lesson.pk}/approve/")
    assert (refused.status_code, refused.json()["code"]) == (403, "self_approval")
    assert Lesson.objects.get(pk=lesson.pk).review_status == "pending"
    assert client_for(fund_manager).post(f"{URL}{lesson.pk}/approve/").status_code == 200


# role -> (read a waiting lesson, approve it, edit it, write one), for a lesson of
# ``leader``'s grant waiting for review. A waiting lesson is seen by its leader and fund
# managers only: for everyone else it does not exist (404), whatever the action.
LESSON_MATRIX = {
    "fund_manager": (200, 200, 403, 403),
    "fm_leader": (200, 200, 403, 403),  # a fund manager, not this grant's leader
    "leader": (200, 403, 200, 201),
    "other_leader": (404, 404, 404, 403),
    "donor": (404, 404, 404, 403),
    "window_manager": (404, 404, 404, 403),
    "no_role": (404, 404, 404, 403),
    "anonymous": (404, 401, 401, 401),
}


@pytest.mark.parametrize("role", list(LESSON_MATRIX))
def test_every_role_on_a_waiting_lesson(client_for, make_user, closed_grant, role):
    from partners.roles import Role

    lesson = Lesson.objects.get(grant=closed_grant)
    who = make_user("wm", Role.WINDOW_MANAGER) if role == "window_manager" else role
    client = client_for(who)
    read, approve, edit, write = LESSON_MATRIX[role]
    assert client.get(f"{URL}{lesson.pk}/").status_code == read
    edited = client.patch(f"{URL}{lesson.pk}/", {"why": "Edited."}, format="json")
    assert edited.status_code == edit, edited.content
    assert (Lesson.objects.get(pk=lesson.pk).why == "Edited.") == (edit == 200)
    created = client.post(URL, _body(closed_grant), format="json")
    assert created.status_code == write, created.content
    approved = client.post(f"{URL}{lesson.pk}/approve/")
    assert approved.status_code == approve, approved.content
    assert (Lesson.objects.get(pk=lesson.pk).review_status == "approved") == (approve == 200)
