"""Sending e-mail with a plain-text and an HTML body, from templates."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_mail(*, template: str, to: list[str], context: dict) -> None:
    """Render ``<template>_subject.txt``, ``.txt`` and ``.html`` and send them.

    Raises whatever the mail backend raises (an SMTP error, a refused connection): the
    jobs that call it decide what a failure means.
    """
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send(fail_silently=False)
