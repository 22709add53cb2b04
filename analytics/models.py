"""Each grant's cycle facts, kept for the cycle-times report (``cycletimes_sql``).

Computing the report from the grants' history means walking every history row of every
grant in scope (1.1 million at 200,000 grants: seconds) after any change of data. The
facts a grant's steps are made of (its first submission, first decision, closing,
returns, waits, first disbursement, first exchange held and report dates, as local dates
in the fund's time zone) change only when that grant's records do, so they are kept here,
one row per grant ever submitted, and the report counts over them.

They are kept correct by the database: triggers of analytics 0001 (PostgreSQL,
statement level) note in ``GrantCycleDirty`` the grant of every history entry,
disbursement, exchange and completion report inserted, updated or deleted, whoever
writes; the report first computes the facts again for the grants noted
(``cycletimes_sql.refresh_cycle_facts``), and for every grant when the time zone the
facts were computed in is not TIME_ZONE. On SQLite (the embedded
demo) the report is computed from the records in Python, and these tables stay empty.

Neither table is one of the tracked apps' (``seetf.common.datacache``): refreshing the
facts is not a change of data."""

from django.db import models


class GrantCycleFacts(models.Model):
    """A submitted grant's cycle facts (local dates in ``zone``), with the grant's own
    columns the report groups by and counts from (a copy: the grant's table is wide, and
    reading it was most of the report's time)."""

    grant_id = models.BigIntegerField(primary_key=True)
    zone = models.CharField(max_length=64, db_index=True)
    region = models.CharField(max_length=3)
    sector_id = models.CharField(max_length=5, null=True)
    window_id = models.BigIntegerField(null=True)
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    planned_end = models.DateField(null=True)
    submitted = models.DateField()
    decided = models.DateField(null=True)
    approved = models.DateField(null=True)
    closed = models.DateField(null=True)
    returns = models.IntegerField()
    waiting_on_leader = models.IntegerField(null=True)
    waiting_on_fund = models.IntegerField(null=True)
    first_disbursed = models.DateField(null=True)
    first_exchange = models.DateField(null=True)
    report_submitted = models.DateField(null=True)
    report_accepted = models.DateField(null=True)

    def __str__(self):
        return f"grant {self.grant_id}"


class GrantCycleDirty(models.Model):
    """A grant whose records changed since its facts were computed (the triggers')."""

    grant_id = models.BigIntegerField()

    def __str__(self):
        return f"grant {self.grant_id}"
