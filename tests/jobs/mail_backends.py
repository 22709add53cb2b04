"""E-mail backends for the jobs tests: one that fails as a mail server that is down does,
and one that can be switched between failing and delivering to the locmem outbox."""

import smtplib
import threading

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class RefusedBackend(BaseEmailBackend):
    """A mail server that refuses the connection, as an SMTP server that is down does."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused (test mail server is down)")


class SMTPErrorBackend(BaseEmailBackend):
    """A mail server that answers but fails the send."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed (test)")


class CountingBackend(LocmemBackend):
    """The locmem backend, safe for several threads at once: delivers to mail.outbox
    under a lock, so a test counting e-mails sent from threads counts every one."""

    lock = threading.Lock()

    def send_messages(self, messages):
        with self.lock:
            return super().send_messages(messages)


def outbox_keys(messages=None) -> list[tuple[str, ...]]:
    """(subject, recipients) of each e-mail sent, for comparing runs."""
    messages = mail.outbox if messages is None else messages
    return [(m.subject, *sorted(m.to)) for m in messages]


class SlowCountingBackend(CountingBackend):
    """A mail server that takes a moment to answer, so that jobs running at once overlap
    while one of them is sending."""

    delay = 0.05

    def send_messages(self, messages):
        import time

        time.sleep(self.delay)
        return super().send_messages(messages)


class SpoolBackend(BaseEmailBackend):
    """Writes each message to its own ``.eml`` file in EMAIL_FILE_PATH, for a test to read
    what another process (a Celery worker) sent. While a file named ``mail-down`` is in
    that folder it fails as a mail server that is down does; SEETF_WORKER_MAIL_DELAY
    seconds per message make jobs running at once overlap."""

    def send_messages(self, email_messages):
        import os
        import time
        import uuid

        from django.conf import settings

        folder = settings.EMAIL_FILE_PATH
        if os.path.exists(os.path.join(folder, "mail-down")):
            raise ConnectionRefusedError(111, "Connection refused (test mail server is down)")
        time.sleep(float(os.environ.get("SEETF_WORKER_MAIL_DELAY", "0")))
        for message in email_messages:
            name = os.path.join(folder, f"{uuid.uuid4().hex}.eml")
            with open(name + ".part", "wb") as spool:
                spool.write(message.message().as_bytes())
            os.replace(name + ".part", name)  # a reader never sees half a message
        return len(email_messages)
