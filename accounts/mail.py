"""E-mail in each recipient's language (README "Languages"): their saved preference
(``accounts.UserPreference``), else the site's default (LANGUAGE_CODE, English). A mail
to several recipients is sent once per language, each message to those who read it."""

from django.conf import settings

from seetf.common import mail

from .selectors import languages_by_email


def send_templated_mail(
    *, template: str, to: list[str], context: dict, languages: dict[str, str] | None = None
) -> None:
    """``seetf.common.mail.send_templated_mail`` once per language of ``to`` (in the
    order of ``to``; the default language first).

    ``languages``: the addresses' saved languages read already (``languages_by_email``
    over a batch of messages, as the reminder job reads them once per batch); read for
    ``to`` when not given."""
    if languages is None:
        languages = languages_by_email(to)
    groups: dict[str, list[str]] = {}
    for address in to:
        groups.setdefault(languages.get(address) or settings.LANGUAGE_CODE, []).append(address)
    for language in sorted(groups, key=lambda code: code != settings.LANGUAGE_CODE):
        mail.send_templated_mail(
            template=template, to=groups[language], context=context, language=language
        )
