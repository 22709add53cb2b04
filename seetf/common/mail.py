"""Sending e-mail with a plain-text and an HTML body, from templates, in a language."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def send_templated_mail(
    *, template: str, to: list[str], context: dict, language: str | None = None
) -> None:
    """Render ``<template>_subject.txt``, ``.txt`` and ``.html`` in ``language`` (the
    site's default, English, when none is given: never the language of whatever request
    or job happens to send it) and send them.

    The recipients' own languages are chosen by ``accounts.mail.send_templated_mail``,
    which the apps call: one message per language.

    Raises whatever the mail backend raises (an SMTP error, a refused connection): the
    jobs that call it decide what a failure means.
    """
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Content-Language": language or settings.LANGUAGE_CODE},
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
