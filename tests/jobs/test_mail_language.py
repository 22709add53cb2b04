"""E-mails in the recipient's language (README "Languages"): their saved preference, else
the site's default (English), never the language of the request or job that sends them;
a mail to several recipients goes once per language.

The wording expected in Spanish is the catalogue's (``translation.override("es")``), and
must differ from the English: these tests fail while locale/es has no translation of it.
"""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import translation
from django.utils.formats import date_format

from accounts import services as account_services
from collaboration import delivery
from collaboration import services as collaboration_services
from collaboration.models import Delivery, NotificationKind
from grants import services as grant_services
from grants.alerts import run_fund_check
from grants.models import GrantStatus
from grants.reminders import run_reminders
from tests.factories import fund_with
from tests.grants.factories import make_grant

from .conftest import DUE, on_day

pytestmark = pytest.mark.django_db


def in_spanish(message: str, **values) -> str:
    """``message`` as the Spanish catalogue has it; it must be translated."""
    with translation.override("es"):
        translated = translation.gettext(message)
    assert translated != message, f"no Spanish translation of {message!r} in locale/es"
    return translated % values if values else translated


def test_a_spanish_readers_reminder_is_in_spanish(approved_grant, leader):
    account_services.language_set(user=leader, language="es")
    day = DUE - timedelta(days=14)
    with on_day(day):
        run_reminders(as_of=day)
    (message,) = [m for m in mail.outbox if m.to == [leader.email]]
    assert message.extra_headers["Content-Language"] == "es"
    with translation.override("es"):
        due = date_format(DUE, "SHORT_DATE_FORMAT")
    assert due == DUE.strftime("%d/%m/%Y")  # Django's Spanish short date
    expected = in_spanish(
        "Completion report for %(ref)s due on %(due)s", ref=approved_grant.reference, due=due
    )
    assert message.subject == expected


def test_a_spanish_readers_digest_is_in_spanish(funded, leader, fund_manager):
    account_services.language_set(user=leader, language="es")
    collaboration_services.preferences_set(
        user=leader, preferences={kind: Delivery.DAILY for kind in NotificationKind.values}
    )
    with on_day(date(2026, 3, 2), hour=9):
        grant = make_grant(leader, GrantStatus.SUBMITTED)
        grant_services.grant_transition(
            grant=grant, user=fund_manager, action="return", comment="x"
        )
    mail.outbox.clear()
    assert delivery.run_digests(as_of=date(2026, 3, 3)).sent == 1
    (message,) = mail.outbox
    assert message.to == [leader.email]
    assert message.extra_headers["Content-Language"] == "es"
    with translation.override("es"):
        expected = translation.ngettext(
            "Your SEETF digest: %(n)s notification", "Your SEETF digest: %(n)s notifications", 1
        ) % {"n": 1}
    assert expected != "Your SEETF digest: 1 notification", "no Spanish digest subject"
    assert message.subject == expected


def test_a_spanish_readers_notification_is_in_spanish(funded, leader, fund_manager):
    account_services.language_set(user=leader, language="es")
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    mail.outbox.clear()
    grant_services.grant_transition(grant=grant, user=fund_manager, action="return", comment="x")
    delivery.run_pending()
    (message,) = [m for m in mail.outbox if m.to == [leader.email]]
    assert message.extra_headers["Content-Language"] == "es"
    assert in_spanish("Open it:") in message.body


def test_a_notifications_own_words_are_in_each_readers_language_not_the_actors(
    funded, leader, fund_manager, fund_manager2
):
    """The sentence stored with the notification (shown on the notifications page and in
    its e-mail) is written once per reader's language, whatever the actor's request."""
    from collaboration.models import Notification
    from collaboration.services import grant_label

    account_services.language_set(user=leader, language="es")
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    with translation.override("fr"):  # the fund manager's request, in French
        grant_services.grant_transition(
            grant=grant, user=fund_manager, action="return", comment="x"
        )
    (told,) = Notification.objects.filter(user=leader, kind=NotificationKind.RETURNED)
    expected = in_spanish(
        "%(grant)s was returned for revision by %(user)s.",
        grant=grant_label(grant),
        user=fund_manager.get_username(),
    ) + in_spanish(' Their comment: "%(comment)s"', comment="x")
    assert told.text == expected
    # A reader with no saved language: the site's, English, not the actor's French.
    with translation.override("fr"):  # the leader's request, in French
        grant_services.grant_transition(grant=grant, user=leader, action="submit")
    latest = Notification.objects.filter(user=fund_manager2, kind=NotificationKind.SUBMITTED)
    assert latest.latest("pk").text.startswith(
        f"{leader.get_username()} resubmitted the proposal {grant_label(grant)}, asking for "
    )


def test_without_a_preference_the_mail_is_english_whatever_the_senders_language(
    funded, leader, fund_manager
):
    grant = make_grant(leader, GrantStatus.SUBMITTED)
    mail.outbox.clear()
    with translation.override("fr"):  # the fund manager's request, in French
        grant_services.grant_transition(
            grant=grant, user=fund_manager, action="return", comment="x"
        )
        delivery.run_pending()
    (message,) = [m for m in mail.outbox if m.to == [leader.email]]
    assert message.extra_headers["Content-Language"] == "en"
    assert message.subject == f"[{grant.reference}] A proposal was returned for revision"
    assert "Open it:" in message.body


def test_a_mail_to_several_goes_once_per_language(managers, fund_manager, fund_manager2, db):
    account_services.language_set(user=fund_manager2, language="es")
    fund_with("100000.00")  # below the threshold: an alert for every fund manager
    mail.outbox.clear()
    run_fund_check()
    alerts = list(mail.outbox)
    by_language = {m.extra_headers["Content-Language"]: m.to for m in alerts}
    assert by_language == {"en": [fund_manager.email], "es": [fund_manager2.email]}
    assert len(alerts) == 2
