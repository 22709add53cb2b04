"""What grants tells the apps built on it (results, notifications, follow-up), which it
may not import: they connect their receivers in their AppConfig.ready().

Each signal is sent inside the transaction that made the change, after its history and
audit rows are written: a receiver that wants to act only once the change is durable
(e-mail, a task) queues its work with ``transaction.on_commit``, so nothing is sent for a
transaction that rolls back.
"""

from django.dispatch import Signal

# Sent by ``grants.services.grant_transition`` after every workflow action (submit,
# start-review, approve, return, reject, cancel, complete, accept-report, close...), with
# ``grant`` (saved, locked), ``user``, ``action`` (the workflow name), ``from_status``,
# ``comment``, ``inputs`` (the action's inputs, e.g. ``approved_usd``) and ``past``
# (True for a decision of the past the importer replays, which nobody should be told of).
grant_transitioned = Signal()

# Sent by ``grants.services.disbursement_record`` with ``grant``, ``disbursement`` and
# ``user``.
disbursement_recorded = Signal()
