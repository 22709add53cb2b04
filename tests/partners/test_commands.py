"""The management commands: `create_seetf_user` (how deployments and tests make users)
and `load_review_2011` (the demo data, idempotent)."""

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from partners.models import Contribution, Fund, Partner, PartnerMembership, Receipt
from partners.roles import user_roles

pytestmark = pytest.mark.django_db

User = get_user_model()
PW = "a-long-test-password"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def roles_of(username):
    return set(user_roles(User.objects.get(username=username)))


# --- create_seetf_user -----------------------------------------------------------------------


def test_creates_a_user_with_several_roles():
    out = run(
        "create_seetf_user",
        "alice",
        "--role",
        "fund_manager",
        "--role",
        "task_team_leader",
        "--email",
        "alice@example.org",
        "--password",
        "correct horse battery staple",
    )

    alice = User.objects.get(username="alice")
    assert roles_of("alice") == {"fund_manager", "task_team_leader"}
    assert alice.email == "alice@example.org"
    assert alice.check_password("correct horse battery staple")
    assert not alice.check_password("something else")
    assert not alice.is_staff and not alice.is_superuser
    assert out.strip() == "alice: fund_manager, task_team_leader"


def test_the_password_works_for_the_api():
    run("create_seetf_user", "alice", "--role", "task_team_leader", "--password", "s3cret-pass!")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "s3cret-pass!"}, format="json"
    )

    assert response.status_code == 200


def test_a_repeated_role_is_held_once(dnkx):
    run(
        "create_seetf_user",
        "bob",
        "--role",
        "donor",
        "--role",
        "donor",
        "--partner",
        "DNKX",
        "--password",
        PW,
    )

    assert roles_of("bob") == {"donor"}


@pytest.fixture
def dnkx(donor_partner):
    return donor_partner  # code DNKX


def test_a_donor_belongs_to_the_partner_given(dnkx):
    out = run("create_seetf_user", "dora", "--role", "donor", "--partner", "dnkx", "--password", PW)

    dora = User.objects.get(username="dora")
    assert dora.partner_membership.partner == dnkx
    assert roles_of("dora") == {"donor"}
    assert out.strip() == "dora: donor (partner DNKX)"


def test_updating_an_existing_user_replaces_roles_and_keeps_the_password(dnkx):
    run("create_seetf_user", "carol", "--role", "fund_manager", "--password", "first-pass-123")
    carol_id = User.objects.get(username="carol").pk

    run("create_seetf_user", "carol", "--role", "donor", "--partner", "DNKX", "--no-input")

    carol = User.objects.get(username="carol")
    assert carol.pk == carol_id
    assert User.objects.filter(username="carol").count() == 1
    assert roles_of("carol") == {"donor"}
    assert carol.partner_membership.partner == dnkx
    assert carol.check_password("first-pass-123")


def test_updating_changes_the_password_and_email_when_given():
    run("create_seetf_user", "carol", "--role", "fund_manager", "--password", "first-pass-123")

    run(
        "create_seetf_user",
        "carol",
        "--role",
        "fund_manager",
        "--password",
        "second-pass-456",
        "--email",
        "carol@example.org",
    )

    carol = User.objects.get(username="carol")
    assert carol.check_password("second-pass-456")
    assert not carol.check_password("first-pass-123")
    assert carol.email == "carol@example.org"


def test_a_donor_who_stops_being_one_leaves_the_partner(dnkx):
    run("create_seetf_user", "dora", "--role", "donor", "--partner", "DNKX", "--password", PW)

    run("create_seetf_user", "dora", "--role", "task_team_leader", "--no-input")

    assert roles_of("dora") == {"task_team_leader"}
    assert not PartnerMembership.objects.filter(user__username="dora").exists()


@pytest.mark.parametrize("no_input", [[], ["--no-input"]], ids=["no terminal", "--no-input"])
def test_a_new_user_is_refused_when_no_password_can_be_had(monkeypatch, no_input):
    """No --password, and no terminal to type one at (or --no-input): refused, nothing
    created (it used to create a user who could never log in, with a GetPassWarning)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-password-123\n"))
    prompted = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompted.append(prompt) or "x")

    with pytest.raises(CommandError, match="eve is a new user and needs a password"):
        run("create_seetf_user", "eve", "--role", "task_team_leader", *no_input)

    assert prompted == []
    assert not User.objects.filter(username="eve").exists()


def test_an_existing_user_updated_without_a_password_is_not_prompted(monkeypatch):
    run("create_seetf_user", "eve", "--role", "task_team_leader", "--password", PW)
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("prompted"))

    run("create_seetf_user", "eve", "--role", "fund_manager")

    assert roles_of("eve") == {"fund_manager"}
    assert User.objects.get(username="eve").check_password(PW)


def a_terminal(monkeypatch, *typed):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter(typed)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))


def test_the_password_is_prompted_for_twice_at_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())
    a_terminal(monkeypatch, "typed-at-the-prompt", "typed-at-the-prompt")

    run("create_seetf_user", "frank", "--role", "fund_manager")

    assert User.objects.get(username="frank").check_password("typed-at-the-prompt")


def test_two_different_passwords_at_the_prompt_are_refused(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())
    a_terminal(monkeypatch, "typed-at-the-prompt", "typed-at-the-prompx")

    with pytest.raises(CommandError, match="The two passwords differ"):
        run("create_seetf_user", "frank", "--role", "fund_manager")

    assert not User.objects.filter(username="frank").exists()


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        (
            "abc",
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
            ],
        ),
        ("password", ["This password is too common."]),
        ("8362519470", ["This password is entirely numeric."]),
        ("henrietta.h", ["The password is too similar to the username."]),
    ],
)
def test_a_weak_password_is_refused_with_the_validators_messages(password, messages):
    with pytest.raises(CommandError) as refused:
        run("create_seetf_user", "henrietta", "--role", "fund_manager", "--password", password)

    assert str(refused.value).splitlines() == messages
    assert not User.objects.filter(username="henrietta").exists()


def test_a_weak_new_password_for_an_existing_user_changes_nothing(dnkx):
    run("create_seetf_user", "carol", "--role", "fund_manager", "--password", PW)

    with pytest.raises(CommandError, match="too short"):
        run(
            "create_seetf_user",
            "carol",
            "--role",
            "donor",
            "--partner",
            "DNKX",
            "--email",
            "new@example.org",
            "--password",
            "abc",
        )

    carol = User.objects.get(username="carol")
    assert carol.check_password(PW)
    assert roles_of("carol") == {"fund_manager"}
    assert carol.email == ""
    assert not PartnerMembership.objects.filter(user=carol).exists()


def test_a_donor_needs_a_partner():
    with pytest.raises(CommandError, match="A donor belongs to a partner"):
        run("create_seetf_user", "gina", "--role", "donor", "--password", PW)

    assert not User.objects.filter(username="gina").exists()


def test_only_donors_belong_to_a_partner(dnkx):
    with pytest.raises(CommandError, match="Only donors belong to a partner"):
        run(
            "create_seetf_user",
            "gina",
            "--role",
            "fund_manager",
            "--partner",
            "DNKX",
            "--password",
            PW,
        )

    assert not User.objects.filter(username="gina").exists()


def test_an_unknown_partner_is_an_error():
    with pytest.raises(CommandError, match="No partner with code 'NOPE'"):
        run("create_seetf_user", "gina", "--role", "donor", "--partner", "NOPE", "--password", PW)

    assert not User.objects.filter(username="gina").exists()


def test_an_unknown_role_is_an_error():
    with pytest.raises(CommandError, match="invalid choice: 'admin'"):
        run("create_seetf_user", "gina", "--role", "admin", "--password", PW)

    assert not User.objects.filter(username="gina").exists()


def test_a_role_is_required():
    with pytest.raises(CommandError, match="--role"):
        run("create_seetf_user", "gina", "--no-input")


# --- load_review_2011 ------------------------------------------------------------------------


def test_loading_the_review_twice_gives_the_nine_partners_once(donor_partner):
    run("load_review_2011")
    first = {
        "partners": set(Partner.objects.values_list("code", flat=True)),
        "fund": Fund.objects.get().received_usd,
    }

    out = run("load_review_2011")

    # Nothing new the second time (whatever else the command loads besides money in).
    assert out.startswith("Review 2011 loaded: 0 partners created, 0 contributions created")
    assert re.findall(r"(\d+) \w+ created", out) == ["0"] * len(re.findall(r"created", out))
    codes = set(Partner.objects.values_list("code", flat=True))
    assert codes == first["partners"]
    assert codes - {"DNKX"} == {"CHN", "COL", "DNK", "ESP", "GBR", "IND", "MEX", "NLD", "RUS"}
    assert Partner.objects.count() == 9 + 1  # plus the donor fixture's partner
    assert Contribution.objects.count() == 9
    assert Receipt.objects.count() == 9
    assert Fund.objects.get().received_usd == first["fund"] == Decimal("9516087.00")


def test_the_review_goes_through_the_ledger_as_recorded_money_does():
    out = run("load_review_2011")

    assert out.startswith(
        "Review 2011 loaded: 9 partners created, 9 contributions created, 9 receipts created"
    )
    russia = Contribution.objects.get(partner__code="RUS")
    assert (russia.pledged_usd, russia.received_usd, russia.status) == (
        Decimal("1500000.00"),
        Decimal("700000.00"),
        "partially_received",
    )
    assert sum(c.pledged_usd for c in Contribution.objects.all()) == Decimal("10316087.00")
