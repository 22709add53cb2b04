"""Participant feedback: the staff's links (`/api/v1/grants/{id}/exchanges/{id}/
feedback-links/`, `.../feedback/`) and the participants' page (`/feedback/<token>/`):
a long random token stored hashed, an expiry, closing, one answer per browser session,
a rate limit per client address, no leak for a bad token; and the authorization matrix
for every role on each endpoint."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from grants.models import ExchangeStatus, GrantStatus
from partners.roles import Role
from results.models import FeedbackAnswer, FeedbackLink
from tests.conftest import second_factor_given
from tests.grants.factories import make_exchange, make_grant
from tests.windows.factories import make_window

pytestmark = pytest.mark.django_db

ANSWER = {"relevance": "5", "usefulness": "4", "intention": "4", "comment": "Very practical."}


@pytest.fixture
def setting(settings):
    settings.SEETF_FEEDBACK_RATE_LIMIT = 30
    return settings


@pytest.fixture
def place(funded, leader, fund_manager, make_user):
    """An approved grant of ``leader`` in a window that ``wm`` approves for, with a held
    exchange; and a window manager of another window."""
    wm = make_user("wm", Role.WINDOW_MANAGER)
    make_user("wm-other", Role.WINDOW_MANAGER)
    window = make_window(
        fund_manager, code="FB-W", allocate="3000000.00", approvers=[(wm, "150000.00")]
    )
    make_window(fund_manager, code="FB-X", allocate="100000.00")
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager, window=window)
    exchange = make_exchange(grant, fund_manager, status=ExchangeStatus.HELD)
    return {"grant": grant, "exchange": exchange}


def links_url(place):
    return f"/api/v1/grants/{place['grant'].pk}/exchanges/{place['exchange'].pk}/feedback-links/"


def feedback_url(place):
    return f"/api/v1/grants/{place['grant'].pk}/exchanges/{place['exchange'].pk}/feedback/"


def open_link(client_for, place, who="leader", **body):
    response = client_for(who).post(links_url(place), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def page(token):
    return f"/feedback/{token}/"


def participant():
    """A participant's phone: a browser with its own session, CSRF checked."""
    return Client(enforce_csrf_checks=True)


def answer(browser, token, data=ANSWER, **extra):
    """GET the form (the CSRF cookie), then POST the answer with its token."""
    form = browser.get(page(token), **extra)
    assert form.status_code == 200, form.content
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())
    return browser.post(page(token), {**data, "csrfmiddlewaretoken": csrf.group(1)}, **extra)


# --- The matrix ----------------------------------------------------------------------------

# role -> (list, create, close, aggregates), from the rules: fund managers and the grant's
# leader manage links; anyone who sees the grant reads the aggregates; a grant one does
# not see is a 404, no credentials a 401.
MATRIX = {
    "fund_manager": (200, 201, 200, 200),
    "leader": (200, 201, 200, 200),
    "other_leader": (403, 403, 403, 200),
    "donor": (403, 403, 403, 200),
    "wm": (403, 403, 403, 200),  # approves in the grant's window: sees it
    "wm-other": (404, 404, 404, 404),  # does not see it
    "no_role": (404, 404, 404, 404),
    "anonymous": (401, 401, 401, 401),
}


def _user(user_for, django_user_model, role):
    if role.startswith("wm"):
        return django_user_model.objects.get(username=role)
    return user_for(role)


@pytest.mark.parametrize("role", list(MATRIX))
def test_every_role_on_every_endpoint(client_for, user_for, django_user_model, place, role):
    link = open_link(client_for, place, "fund_manager")
    user = _user(user_for, django_user_model, role)
    client = client_for(user)
    want_list, want_create, want_close, want_read = MATRIX[role]
    before = FeedbackLink.objects.count()

    listed = client.get(links_url(place))
    assert listed.status_code == want_list, listed.content
    if want_list == 200:
        assert [row["id"] for row in listed.json()["results"]] == [link["id"]]
        assert "token" not in listed.json()["results"][0]
    created = client.post(links_url(place), {"days": 7}, format="json")
    assert created.status_code == want_create, created.content
    assert FeedbackLink.objects.count() == before + (want_create == 201)
    if want_create in (403,):
        assert created.json()["code"] == "permission_denied"
    closed = client.post(f"{links_url(place)}{link['id']}/close/")
    assert closed.status_code == want_close, closed.content
    assert (FeedbackLink.objects.get(pk=link["id"]).closed_at is not None) == (want_close == 200)
    read = client.get(feedback_url(place))
    assert read.status_code == want_read, read.content
    # The participants' page needs no login and is the same for every role.
    browser = participant()
    if user is not None:
        browser.force_login(user)
        second_factor_given(browser, user)  # fund managers' and window managers' policy
    token = open_link(client_for, place, "fund_manager")["token"]
    assert answer(browser, token).status_code == 200


def test_links_of_an_exchange_of_another_grant_are_404(client_for, place, fund_manager, leader):
    other = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    url = f"/api/v1/grants/{other.pk}/exchanges/{place['exchange'].pk}/feedback-links/"
    assert client_for("fund_manager").post(url, {}, format="json").status_code == 404
    assert (
        client_for("fund_manager").get(url.replace("feedback-links", "feedback")).status_code == 404
    )


def test_links_only_for_exchanges_that_can_have_participants(
    client_for, place, fund_manager, leader
):
    cancelled = make_exchange(place["grant"], fund_manager, status=ExchangeStatus.CANCELLED)
    url = f"/api/v1/grants/{place['grant'].pk}/exchanges/{cancelled.pk}/feedback-links/"
    response = client_for("leader").post(url, {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    draft = make_grant(leader, GrantStatus.DRAFT)
    planned = make_exchange(draft, leader)
    url = f"/api/v1/grants/{draft.pk}/exchanges/{planned.pk}/feedback-links/"
    response = client_for("leader").post(url, {}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    bad = client_for("leader").post(links_url(place), {"days": 0}, format="json")
    assert (bad.status_code, set(bad.json())) == (400, {"days"})
    assert not FeedbackLink.objects.exists()


# --- The token -----------------------------------------------------------------------------


def test_the_token_is_long_random_shown_once_and_stored_hashed(client_for, place):
    first = open_link(client_for, place, days=3)
    second = open_link(client_for, place)
    token = first["token"]
    assert len(token) >= 43 and token != second["token"]
    assert first["url"].endswith(page(token))
    link = FeedbackLink.objects.get(pk=first["id"])
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(FeedbackLink.objects.values()))
    assert timedelta(days=3) - (link.expires_at - timezone.now()) < timedelta(minutes=1)
    assert (first["state"], first["answers"]) == ("open", 0)
    entry = AuditEntry.objects.get(action="feedback_link.open", object_id=str(link.pk))
    assert token not in str(entry.changes)


@pytest.mark.parametrize("state", ["expired", "closed", "unknown", "truncated"])
def test_a_link_not_open_is_404_or_410_and_tells_nothing(client_for, place, state):
    link = open_link(client_for, place)
    token = link["token"]
    if state == "expired":
        FeedbackLink.objects.filter(pk=link["id"]).update(expires_at=timezone.now())
    elif state == "closed":
        client_for("leader").post(f"{links_url(place)}{link['id']}/close/")
    elif state == "unknown":
        token = "x" * 43
    else:
        token = token[:-1]
    browser = participant()
    want = 410 if state in ("expired", "closed") else 404
    shown = browser.get(page(token))
    assert shown.status_code == want
    text = shown.content.decode()
    assert "This feedback link is not open" in text
    assert place["exchange"].title not in text and place["grant"].title not in text
    posted = browser.post(page(token), ANSWER)  # no CSRF token either: the link is checked first
    assert posted.status_code in (403, want)
    assert not FeedbackAnswer.objects.exists()


def test_closing_twice_is_409(client_for, place):
    link = open_link(client_for, place)
    url = f"{links_url(place)}{link['id']}/close/"
    assert client_for("leader").post(url).json()["state"] == "closed"
    again = client_for("fund_manager").post(url)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert AuditEntry.objects.filter(action="feedback_link.close").count() == 1


# --- The answers ---------------------------------------------------------------------------


def test_one_answer_per_browser_session(client_for, place, setting):
    token = open_link(client_for, place)["token"]
    phone = participant()
    first = answer(phone, token)
    assert first.status_code == 200 and b"Your answer was recorded" in first.content
    csrf = phone.cookies["csrftoken"].value
    second = phone.post(page(token), {**ANSWER, "csrfmiddlewaretoken": csrf})
    assert second.status_code == 409
    assert b"already answered" in second.content
    assert phone.get(page(token)).content.count(b"already answered") == 1
    assert FeedbackAnswer.objects.count() == 1
    # Another phone answers.
    assert answer(participant(), token).status_code == 200
    assert FeedbackAnswer.objects.count() == 2
    stored = FeedbackAnswer.objects.first()
    assert (stored.relevance, stored.usefulness, stored.intention) == (5, 4, 4)
    assert stored.comment == "Very practical."


def test_the_form_needs_its_csrf_token(client_for, place):
    token = open_link(client_for, place)["token"]
    phone = participant()
    phone.get(page(token))
    assert phone.post(page(token), ANSWER).status_code == 403
    assert not FeedbackAnswer.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"relevance": "6"},
        {"usefulness": "0"},
        {"intention": ""},
        {"relevance": "x"},
        {"comment": "x" * 1001},
    ],
)
def test_bad_answers_are_400_and_record_nothing(client_for, place, setting, bad):
    token = open_link(client_for, place)["token"]
    response = answer(participant(), token, {**ANSWER, **bad})
    assert response.status_code == 400
    assert not FeedbackAnswer.objects.exists()


def test_the_rate_limit_per_client_address(client_for, place, setting):
    setting.SEETF_FEEDBACK_RATE_LIMIT = 2
    token = open_link(client_for, place)["token"]
    here = {"REMOTE_ADDR": "198.51.100.7"}
    assert answer(participant(), token, **here).status_code == 200
    assert answer(participant(), token, **here).status_code == 200
    refused = answer(participant(), token, **here)
    assert refused.status_code == 429 and b"try again later" in refused.content
    assert FeedbackAnswer.objects.count() == 2
    # Another address is not held back.
    assert answer(participant(), token, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert FeedbackAnswer.objects.count() == 3


def test_aggregates_count_means_and_share_intending(client_for, place, setting):
    token = open_link(client_for, place)["token"]
    for relevance, usefulness, intention in [(5, 4, 5), (3, 2, 4), (4, 3, 1)]:
        data = {"relevance": relevance, "usefulness": usefulness, "intention": intention}
        assert answer(participant(), token, data).status_code == 200
    body = client_for("donor").get(feedback_url(place)).json()
    assert body == {
        "exchange": place["exchange"].pk,
        "answers": 3,
        "relevance_mean": 4.0,
        "usefulness_mean": 3.0,
        "intention_mean": 3.33,
        "share_intending_to_apply": 0.67,
    }
    listed = client_for("leader").get(links_url(place)).json()
    assert listed["results"][0]["answers"] == 3


def test_no_answer_gives_nulls(client_for, place):
    body = client_for("leader").get(feedback_url(place)).json()
    assert body["answers"] == 0
    assert body["relevance_mean"] is None and body["share_intending_to_apply"] is None


def test_the_service_refuses_a_second_answer_even_past_its_check(client_for, place, monkeypatch):
    """Two tabs of one session racing: the unique constraint decides, and the loser is
    the same 409 ``duplicate`` as a plain second answer."""
    from django.core.exceptions import ValidationError

    from results import services
    from seetf.common.errors import ApplicationError

    link = FeedbackLink.objects.get(pk=open_link(client_for, place)["id"])
    ratings = {"relevance": 3, "usefulness": 3, "intention": 3}
    services.feedback_answer(link=link, session_key="k", **ratings)
    with pytest.raises(ApplicationError) as plain:
        services.feedback_answer(link=link, session_key="k", **ratings)
    monkeypatch.setattr(
        "django.db.models.query.QuerySet.exists", lambda self: False
    )  # the check passes: as if the other tab had not committed yet
    with pytest.raises(ApplicationError) as raced:
        services.feedback_answer(link=link, session_key="k", **ratings)
    assert plain.value.code == raced.value.code == "duplicate"
    monkeypatch.undo()
    assert FeedbackAnswer.objects.count() == 1
    with pytest.raises(ValidationError):
        services.feedback_answer(link=link, session_key="j", **{**ratings, "intention": 6})
