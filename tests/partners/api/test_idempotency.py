"""`Idempotency-Key` on `POST /api/v1/contributions/{id}/receipts/` (API.md Conventions):
a retry with the same key and body gets the first response again and writes nothing
more; the same key with another body gets 409 `duplicate`; keys are per user."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from partners.models import Contribution, Fund, Receipt
from seetf.common.models import IdempotencyKey
from tests.concurrency import at_once
from tests.conftest import api_client, read_afresh
from tests.factories import make_contribution

RECEIPT = {"amount": "250.00", "usd_amount": "330.00", "received_on": "2011-06-01"}


def _url(contribution):
    return f"/api/v1/contributions/{contribution.pk}/receipts/"


def _received(contribution):
    contribution = Contribution.objects.get(pk=contribution.pk)
    return contribution.received_amount, contribution.received_usd


@pytest.fixture
def pledge(db):
    return make_contribution(
        currency="EUR", pledged_amount="1000.00", pledged_usd="1300.00", reference="IDEM-1"
    )


@pytest.mark.django_db
class TestReplay:
    def test_the_same_key_and_body_records_once_and_replays_the_first_answer(
        self, pledge, fund_manager, client_for
    ):
        client = client_for(fund_manager)

        first = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert first.json()["id"] == Receipt.objects.get().pk
        assert "Idempotent-Replayed" not in first
        assert second["Idempotent-Replayed"] == "true"
        assert Receipt.objects.count() == 1
        assert _received(pledge) == (Decimal("250.00"), Decimal("330.00"))
        assert Fund.objects.get().received_usd == Decimal("330.00")

    def test_the_same_body_in_another_key_order_is_the_same_request(
        self, pledge, fund_manager, client_for
    ):
        client = client_for(fund_manager)
        reordered = dict(reversed(list(RECEIPT.items())))

        first = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = client.post(_url(pledge), reordered, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert second.status_code == 201
        assert second.json() == first.json()
        assert Receipt.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_409(
        self, pledge, fund_manager, client_for, unchanged
    ):
        client = client_for(fund_manager)
        client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        with unchanged():
            response = client.post(
                _url(pledge),
                {**RECEIPT, "amount": "251.00"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="k-1",
            )

        assert response.status_code == 409
        assert response.json() == {
            "detail": "This Idempotency-Key was already used for a different request.",
            "code": "duplicate",
        }

    def test_the_same_key_for_another_contribution_is_a_409(
        self, pledge, fund_manager, client_for, unchanged
    ):
        other = make_contribution(currency="EUR", pledged_amount="1000.00", pledged_usd="1300.00")
        client = client_for(fund_manager)
        client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        with unchanged():
            response = client.post(_url(other), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert response.status_code == 409
        assert response.json()["code"] == "duplicate"

    @pytest.mark.parametrize(
        "bad_body, field",
        [
            ({**RECEIPT, "amount": "-1.00"}, "amount"),  # refused by the serializer
            ({**RECEIPT, "amount": "1000.01"}, "amount"),  # refused by the service
            ({"amount": "250.00", "received_on": "2011-06-01"}, "usd_amount"),
        ],
    )
    def test_a_refused_request_does_not_burn_its_key(
        self, bad_body, field, pledge, fund_manager, client_for
    ):
        client = client_for(fund_manager)

        refused = client.post(_url(pledge), bad_body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert refused.status_code == 400
        assert field in refused.json()
        assert not IdempotencyKey.objects.exists()

        # The corrected request, with the same key, is recorded...
        accepted = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert accepted.status_code == 201
        assert "Idempotent-Replayed" not in accepted
        # ...and from then on the key is its own.
        again = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert again["Idempotent-Replayed"] == "true"
        assert Receipt.objects.count() == 1

    def test_retrying_a_refusal_gets_the_refusal_again(self, pledge, fund_manager, client_for):
        client = client_for(fund_manager)
        body = {**RECEIPT, "amount": "1000.01"}

        answers = [
            client.post(_url(pledge), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
            for _ in range(2)
        ]

        assert [a.status_code for a in answers] == [400, 400]
        assert answers[0].json() == answers[1].json()
        assert not Receipt.objects.exists()

    def test_keys_are_per_user(self, pledge, fund_manager, fund_manager2, client_for):
        first = client_for(fund_manager).post(
            _url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )
        second = client_for(fund_manager2).post(
            _url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="shared"
        )

        assert first.status_code == second.status_code == 201
        assert "Idempotent-Replayed" not in second
        assert first.json()["id"] != second.json()["id"]
        assert Receipt.objects.count() == 2
        assert _received(pledge) == (Decimal("500.00"), Decimal("660.00"))
        assert set(Receipt.objects.values_list("recorded_by", flat=True)) == {
            fund_manager.pk,
            fund_manager2.pk,
        }

    def test_without_a_key_every_post_records(self, pledge, fund_manager, client_for):
        client = client_for(fund_manager)

        for _ in range(2):
            assert client.post(_url(pledge), RECEIPT, format="json").status_code == 201

        assert Receipt.objects.count() == 2
        assert not IdempotencyKey.objects.exists()

    def test_a_key_is_kept_at_least_24_hours(self, pledge, fund_manager, client_for):
        assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
        client = client_for(fund_manager)
        client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24))

        again = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert again["Idempotent-Replayed"] == "true"
        assert Receipt.objects.count() == 1

    def test_an_expired_key_may_be_used_again(self, pledge, fund_manager, client_for):
        client = client_for(fund_manager)
        client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        expired = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
        IdempotencyKey.objects.update(created_at=timezone.now() - expired)

        again = client.post(_url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert Receipt.objects.count() == 2
        assert IdempotencyKey.objects.count() == 1

    def test_a_blank_key_is_refused(self, pledge, fund_manager, client_for, unchanged):
        with unchanged():
            response = client_for(fund_manager).post(
                _url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="   "
            )

        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()

    def test_a_key_with_a_nul_character_is_refused(
        self, pledge, fund_manager, client_for, unchanged
    ):
        client = client_for(fund_manager)
        client.raise_request_exception = False

        with unchanged():
            response = client.post(
                _url(pledge), RECEIPT, format="json", HTTP_IDEMPOTENCY_KEY="k\x001"
            )

        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()


# --- At the same moment, on PostgreSQL -------------------------------------------------------


def _all_at_once(user, bodies_and_keys, url):
    """POST each (body, key) from its own thread and connection, released together by a
    barrier; returns (status, json, replayed header) per thread, in order."""

    def post(client, body, key):
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        return (response.status_code, response.json(), response.headers.get("Idempotent-Replayed"))

    return at_once(
        [lambda client, b=body, k=key: post(client, b, k) for body, key in bodies_and_keys],
        # The thread's own user object, and its client.
        prepare=lambda i: api_client(read_afresh(user)),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_simultaneous_retries_record_once(make_user):
    fund_manager = make_user("fm", "fund_manager")
    pledge = make_contribution(currency="EUR", pledged_amount="1000.00", pledged_usd="1300.00")
    received_before = Fund.objects.get().received_usd

    results = _all_at_once(fund_manager, [(RECEIPT, "same-key")] * 8, _url(pledge))

    assert [status for status, _, _ in results] == [201] * 8
    bodies = [body for _, body, _ in results]
    assert all(body == bodies[0] for body in bodies)
    assert sorted(replayed or "" for _, _, replayed in results) == [""] + ["true"] * 7
    assert list(Receipt.objects.values_list("pk", flat=True)) == [bodies[0]["id"]]
    assert _received(pledge) == (Decimal("250.00"), Decimal("330.00"))
    assert Fund.objects.get().received_usd - received_before == Decimal("330.00")
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_receipts_never_exceed_the_pledge(make_user):
    """Eight receipts of 300.00 against a pledge of 1,000.00, all at once: three fit."""
    fund_manager = make_user("fm", "fund_manager")
    pledge = make_contribution(pledged_amount="1000.00")
    received_before = Fund.objects.get().received_usd
    body = {"amount": "300.00", "received_on": "2011-06-01"}

    results = _all_at_once(fund_manager, [(body, f"key-{i}") for i in range(8)], _url(pledge))

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] * 3 + [400] * 5
    for status, answer, _ in results:
        if status == 400:
            assert answer == {
                "amount": ["Only 100.00 USD of this pledge is outstanding; amend the pledge first."]
            }
    pledge.refresh_from_db()
    assert pledge.received_amount == Decimal("900.00") <= pledge.pledged_amount
    assert Receipt.objects.filter(contribution=pledge).count() == 3
    assert Fund.objects.get().received_usd - received_before == Decimal("900.00")
    assert IdempotencyKey.objects.count() == 3
