"""Every service that changes money, a status, a permission or published content writes
an audit entry in its transaction (issue 14, point 6): who acted, the action, the
object, and each field before and after. One case per service; each fails when the
service writes no entry, or the wrong one."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from audit.context import acting_from
from audit.models import AuditEntry
from grants import services as grant_services
from grants.models import GrantStatus
from partners import services as partner_services
from partners.models import Country
from partners.roles import Role
from results import services as result_services
from tests.factories import PartnerFactory, fund_with, make_contribution, make_receipt
from tests.grants.factories import REPORT, make_exchange, make_grant
from tests.results.factories import finished_grant, make_story

pytestmark = pytest.mark.django_db
D = Decimal
S = GrantStatus


def latest(action: str) -> AuditEntry:
    entries = AuditEntry.objects.filter(action=action).order_by("-id")
    assert entries.exists(), f"no {action!r} entry; the log holds {list_actions()}"
    return entries.first()


def list_actions():
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


@pytest.fixture
def world(fund_manager, leader, make_user):
    fund_with("1000000.00")
    return {"fm": fund_manager, "ttl": leader, "make_user": make_user}


# Each case does one change and returns (action, actor, object, the changes expected:
# a dict of field -> [before, after] that the entry's changes must contain).


def grant_create(w):
    grant = make_grant(w["ttl"])
    return (
        "grant.create",
        w["ttl"],
        grant,
        {"status": [None, "draft"], "requested_usd": [None, "100000.00"]},
    )


def grant_update(w):
    grant = make_grant(w["ttl"])
    peru = Country.objects.get(code="PER")
    grant_services.grant_update(
        grant=grant,
        user=w["ttl"],
        title="A new title",
        requested_usd=D("90000.00"),
        recipient_countries=[peru],
    )
    honduras = Country.objects.get(code="HND").pk
    return (
        "grant.update",
        w["ttl"],
        grant,
        {
            "title": ["Conditional cash transfers for Honduras", "A new title"],
            "requested_usd": ["100000.00", "90000.00"],
            "recipient_countries": [[honduras], [peru.pk]],
        },
    )


def _transition(action, status, expected):
    def case(w):
        grant = make_grant(w["ttl"], status, manager=w["fm"])
        actor = w["ttl"] if action == "submit" else w["fm"]
        inputs = {"approved_usd": D("80000.00")} if action == "approve" else {}
        grant_services.grant_transition(
            grant=grant, user=actor, action=action, comment="because", **inputs
        )
        return f"grant.{action}", actor, grant, expected

    case.__name__ = f"grant_{action}"
    return case


def grant_close(w):
    grant = finished_grant(w["ttl"], w["fm"], status=S.COMPLETED)
    grant_services.grant_transition(grant=grant, user=w["fm"], action="close", comment="done")
    return (
        "grant.close",
        w["fm"],
        grant,
        {
            "status": ["completed", "closed"],
            "released_usd": ["0.00", "100000.00"],
        },
    )


def exchange_create(w):
    grant = make_grant(w["ttl"])
    exchange = make_exchange(grant, w["ttl"], participants=12)
    return "exchange.create", w["ttl"], exchange, {"participants": [None, 12]}


def exchange_update(w):
    grant = make_grant(w["ttl"], S.APPROVED, manager=w["fm"])
    exchange = make_exchange(grant, w["fm"])
    grant_services.exchange_update(exchange=exchange, user=w["fm"], status="held", participants=30)
    return (
        "exchange.update",
        w["fm"],
        exchange,
        {
            "status": ["planned", "held"],
            "participants": [0, 30],
        },
    )


def _approved(w):
    return make_grant(w["ttl"], S.APPROVED, manager=w["fm"])


def disbursement_record(w):
    grant = _approved(w)
    disbursement = grant_services.disbursement_record(
        grant=grant, user=w["fm"], amount_usd=D("2500.00"), disbursed_on=date(2026, 2, 1)
    )
    return (
        "disbursement.record",
        w["fm"],
        disbursement,
        {
            "amount_usd": [None, "2500.00"],
            "grant": [None, grant.pk],
        },
    )


def disbursement_reverse(w):
    grant = _approved(w)
    original = grant_services.disbursement_record(
        grant=grant, user=w["fm"], amount_usd=D("2500.00"), disbursed_on=date(2026, 2, 1)
    )
    reversal = grant_services.disbursement_reverse(
        disbursement=original, user=w["fm"], reason="typo"
    )
    return (
        "disbursement.reverse",
        w["fm"],
        reversal,
        {
            "amount_usd": [None, "-2500.00"],
            "reverses": [None, original.pk],
        },
    )


def partner_create(w):
    partner = partner_services.partner_create(
        code="NOR", name="Norway", kind="traditional_donor", actor=w["fm"]
    )
    return "partner.create", w["fm"], partner, {"code": [None, "NOR"]}


def partner_update(w):
    partner = PartnerFactory(name="Norway")
    partner_services.partner_update(partner=partner, actor=w["fm"], name="Kingdom of Norway")
    return "partner.update", w["fm"], partner, {"name": ["Norway", "Kingdom of Norway"]}


def contribution_create(w):
    partner = PartnerFactory()
    contribution = partner_services.contribution_create(
        partner=partner,
        reference="C-NEW",
        currency="USD",
        pledged_amount=D("5000.00"),
        actor=w["fm"],
    )
    return (
        "contribution.create",
        w["fm"],
        contribution,
        {
            "pledged_usd": [None, "5000.00"],
            "partner": [None, partner.pk],
        },
    )


def contribution_moved_to_another_partner(w):
    first, second = PartnerFactory(), PartnerFactory()
    contribution = make_contribution(first, pledged_amount="5000.00")
    make_receipt(contribution, "1000.00")
    partner_services.contribution_update(
        contribution=contribution, actor=w["fm"], partner=second, pledged_amount=D("6000.00")
    )
    return (
        "contribution.update",
        w["fm"],
        contribution,
        {
            "partner": [first.pk, second.pk],
            "pledged_amount": ["5000.00", "6000.00"],
            "pledged_usd": ["5000.00", "6000.00"],
        },
    )


def receipt_record(w):
    contribution = make_contribution(pledged_amount="5000.00")
    receipt = partner_services.receipt_record(
        contribution=contribution,
        amount=D("1000.00"),
        received_on=date(2026, 1, 1),
        recorded_by=w["fm"],
    )
    return "receipt.record", w["fm"], receipt, {"usd_amount": [None, "1000.00"]}


def receipt_reverse(w):
    contribution = make_contribution(pledged_amount="5000.00")
    receipt = make_receipt(contribution, "1000.00")
    reversal = partner_services.receipt_reverse(receipt=receipt, user=w["fm"], reason="typo")
    return (
        "receipt.reverse",
        w["fm"],
        reversal,
        {
            "usd_amount": [None, "-1000.00"],
            "reverses": [None, receipt.pk],
        },
    )


def user_create(w):
    user = partner_services.user_create_or_update(
        username="newcomer", roles=[Role.TASK_TEAM_LEADER], actor=w["fm"]
    )
    return "user.create", w["fm"], user, {"roles": [None, [Role.TASK_TEAM_LEADER]]}


def user_roles_changed(w):
    user = w["make_user"]("promoted", Role.TASK_TEAM_LEADER)
    partner_services.user_create_or_update(
        username="promoted", roles=[Role.TASK_TEAM_LEADER, Role.FUND_MANAGER], actor=w["fm"]
    )
    return (
        "user.update",
        w["fm"],
        user,
        {"roles": [[Role.TASK_TEAM_LEADER], [Role.FUND_MANAGER, Role.TASK_TEAM_LEADER]]},
    )


def user_partner_changed(w):
    first, second = PartnerFactory(), PartnerFactory()
    user = w["make_user"]("moved", Role.DONOR, partner=first)
    partner_services.user_create_or_update(
        username="moved", roles=[Role.DONOR], partner=second, actor=w["fm"]
    )
    return "user.update", w["fm"], user, {"partner": [first.pk, second.pk]}


def user_password_change(w):
    partner_services.user_password_change(user=w["ttl"], password="another-long-password-1")
    return "user.password", w["ttl"], w["ttl"], {"password": ["(old)", "(new)"]}


def token_revoke(w):
    token = Token.objects.create(user=w["ttl"])
    partner_services.token_revoke(token=token)
    return "token.revoke", w["ttl"], w["ttl"], {"tokens": [1, 0]}


def token_rotated_on_role_change(w):
    Token.objects.create(user=w["ttl"])
    partner_services.user_create_or_update(
        username=w["ttl"].username, roles=[Role.FUND_MANAGER], actor=w["fm"]
    )
    return "token.revoke", w["fm"], w["ttl"], {"tokens": [1, 0]}


def report_create(w):
    grant = _approved(w)
    result_services.completion_report_save(grant=grant, user=w["ttl"], **REPORT)
    return (
        "completion_report.create",
        w["ttl"],
        grant.completion_report,
        {
            "rating": [None, "S"],
            "lessons": [None, REPORT["lessons"]],
            "concrete_results": [None, [["action_plan", "A national action plan."]]],
        },
    )


def report_lessons_edited(w):
    grant = _approved(w)
    result_services.completion_report_save(grant=grant, user=w["ttl"], **REPORT)
    result_services.completion_report_save(
        grant=grant, user=w["ttl"], lessons="Fewer, longer visits.", rating="HS"
    )
    return (
        "completion_report.update",
        w["ttl"],
        grant.completion_report,
        {
            "lessons": [REPORT["lessons"], "Fewer, longer visits."],
            "rating": ["S", "HS"],
        },
    )


def report_submit(w):
    grant = _approved(w)
    result_services.completion_report_save(grant=grant, user=w["ttl"], **REPORT)
    result_services.completion_report_submit(grant=grant, user=w["ttl"])
    return "completion_report.submit", w["ttl"], grant.completion_report, {}


def report_accept(w):
    grant = finished_grant(w["ttl"], w["fm"], status=S.COMPLETED, accept=False)
    report = result_services.completion_report_accept(grant=grant, user=w["fm"])
    return "completion_report.accept", w["fm"], report, {"accepted_by": [None, w["fm"].pk]}


def _closed(w):
    return finished_grant(w["ttl"], w["fm"])


def story_create(w):
    story = make_story(w["fm"], _closed(w), title="Cash reaches the poor")
    return "story.create", w["fm"], story, {"title": [None, "Cash reaches the poor"]}


def story_update(w):
    story = make_story(w["fm"], _closed(w))
    result_services.story_update(story=story, user=w["fm"], body="New *body*.")
    return "story.update", w["fm"], story, {"body": [story.body, "New *body*."]}


def story_publish(w):
    story = make_story(w["fm"], _closed(w))
    result_services.story_publish(story=story, user=w["fm"])
    return "story.publish", w["fm"], story, {"published": [False, True]}


def story_unpublish(w):
    story = make_story(w["fm"], _closed(w), published=True)
    result_services.story_unpublish(story=story, user=w["fm"])
    return "story.unpublish", w["fm"], story, {"published": [True, False]}


CASES = [
    grant_create,
    grant_update,
    _transition("submit", S.DRAFT, {"status": ["draft", "submitted"]}),
    _transition("start-review", S.SUBMITTED, {"status": ["submitted", "under_review"]}),
    _transition(
        "approve",
        S.UNDER_REVIEW,
        {"status": ["under_review", "approved"], "approved_usd": [None, "80000.00"]},
    ),
    _transition("return", S.SUBMITTED, {"status": ["submitted", "returned"]}),
    _transition("reject", S.SUBMITTED, {"status": ["submitted", "rejected"]}),
    _transition(
        "cancel",
        S.APPROVED,
        {"status": ["approved", "cancelled"], "released_usd": ["0.00", "100000.00"]},
    ),
    grant_close,
    exchange_create,
    exchange_update,
    disbursement_record,
    disbursement_reverse,
    partner_create,
    partner_update,
    contribution_create,
    contribution_moved_to_another_partner,
    receipt_record,
    receipt_reverse,
    user_create,
    user_roles_changed,
    user_partner_changed,
    user_password_change,
    token_revoke,
    token_rotated_on_role_change,
    report_create,
    report_lessons_edited,
    report_submit,
    report_accept,
    story_create,
    story_update,
    story_publish,
    story_unpublish,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_the_service_writes_an_audit_entry(world, case):
    with acting_from("203.0.113.9"):
        action, actor, obj, expected = case(world)
    entry = latest(action)
    assert entry.actor_id == actor.pk and entry.actor_name == actor.username
    assert (entry.content_type.model_class(), entry.object_id) == (type(obj), str(obj.pk))
    for field, pair in expected.items():
        assert entry.changes.get(field) == pair, (field, entry.changes)
    assert entry.address == "203.0.113.9"


def test_a_transition_keeps_its_comment_as_the_reason(world):
    grant = make_grant(world["ttl"], S.SUBMITTED)
    grant_services.grant_transition(
        grant=grant, user=world["fm"], action="return", comment="Add a budget."
    )
    assert latest("grant.return").reason == "Add a budget."


def test_a_refused_change_leaves_no_entry(world):
    grant = make_grant(world["ttl"], S.SUBMITTED)
    before = AuditEntry.objects.count()
    with pytest.raises(Exception):  # noqa: B017, PT011 (409 insufficient_funds)
        grant_services.grant_transition(
            grant=grant, user=world["fm"], action="approve", approved_usd=D("99999999.00")
        )
    assert AuditEntry.objects.count() == before


def test_an_edit_that_changes_nothing_writes_nothing(world):
    partner = PartnerFactory(name="Norway")
    before = AuditEntry.objects.count()
    partner_services.partner_update(partner=partner, actor=world["fm"], name="Norway")
    assert AuditEntry.objects.count() == before


def test_a_password_hash_never_reaches_the_log(world):
    partner_services.user_create_or_update(
        username="secretive",
        roles=[Role.DONOR],
        partner=PartnerFactory(),
        password="a-long-test-password-2",
    )
    user = get_user_model().objects.get(username="secretive")
    for entry in AuditEntry.objects.all():
        assert user.password not in str(entry.changes)


def test_a_token_key_never_reaches_the_log(world):
    token = Token.objects.create(user=world["ttl"])
    partner_services.token_revoke(token=token)
    for entry in AuditEntry.objects.all():
        assert token.key not in f"{entry.changes} {entry.object_id} {entry.object_repr}"


def _admin_post(admin_client, url, data):
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    return response


def test_the_admin_edit_of_a_users_roles_is_audited_and_ends_their_tokens(
    admin_client, admin_user, leader
):
    from django.contrib.auth.models import Group

    Token.objects.create(user=leader)
    fm_group = Group.objects.get(name=Role.FUND_MANAGER)
    ttl_group = Group.objects.get(name=Role.TASK_TEAM_LEADER)
    _admin_post(
        admin_client,
        f"/admin/auth/user/{leader.pk}/change/",
        {
            "username": leader.username,
            "email": leader.email,
            "is_active": "on",
            "groups": [fm_group.pk, ttl_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    entry = latest("user.roles")  # accounts/admin.py
    assert entry.actor == admin_user and entry.object_id == str(leader.pk)
    assert entry.changes["groups"] == [
        [Role.TASK_TEAM_LEADER],
        [Role.FUND_MANAGER, Role.TASK_TEAM_LEADER],
    ]
    assert not Token.objects.filter(user=leader).exists()
    assert latest("token.revoke").object_id == str(leader.pk)


def test_the_admin_edit_of_a_partner_goes_through_the_service(admin_client, admin_user):
    partner = PartnerFactory(name="Norway", code="NOR")
    _admin_post(
        admin_client,
        f"/admin/partners/partner/{partner.pk}/change/",
        {"code": "NOR", "name": "Kingdom of Norway", "kind": "traditional_donor"},
    )
    entry = latest("partner.update")
    assert entry.actor == admin_user
    assert entry.changes["name"] == ["Norway", "Kingdom of Norway"]


def test_the_admin_move_of_a_donor_to_another_partner_is_audited(
    admin_client, admin_user, donor, donor_partner
):
    other = PartnerFactory()
    membership = donor.partner_membership
    _admin_post(
        admin_client,
        f"/admin/partners/partnermembership/{membership.pk}/change/",
        {"user": donor.pk, "partner": other.pk},
    )
    entry = latest("user.update")
    assert entry.actor == admin_user and entry.object_id == str(donor.pk)
    assert entry.changes["partner"] == [donor_partner.pk, other.pk]


def test_the_admin_deletion_of_a_token_is_a_revocation(admin_client, admin_user, leader):
    Token.objects.create(user=leader)
    _admin_post(admin_client, f"/admin/authtoken/tokenproxy/{leader.pk}/delete/", {"post": "yes"})
    assert not Token.objects.filter(user=leader).exists()
    entry = latest("token.revoke")
    assert entry.actor == admin_user and entry.reason == "revoked in the admin"


def test_the_request_address_is_taken_through_the_middleware(world, client_for):
    response = client_for(world["fm"]).post(
        "/api/v1/partners/",
        {"code": "SWE", "name": "Sweden", "kind": "traditional_donor"},
        format="json",
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 201, response.content
    entry = latest("partner.create")
    assert entry.actor == world["fm"] and entry.address == "198.51.100.20"


def test_renaming_a_role_group_in_the_admin_is_audited(admin_client, admin_user):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=Role.DONOR)
    _admin_post(admin_client, f"/admin/auth/group/{group.pk}/change/", {"name": "donors-old"})
    entry = latest("group.update")
    assert entry.actor == admin_user
    assert entry.changes == {"name": [Role.DONOR, "donors-old"]}
