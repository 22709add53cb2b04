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

The exchange flows and the portfolio indicators are kept the same way, per grant and
summed per grant status (``GrantFlowFacts``, ``FlowTotals``, ``GrantFlowDirty``: analytics
0002 and 0003, ``flows_sql``, ``indicators_sql``).

None of these tables is one of the tracked apps' (``seetf.common.datacache``):
refreshing the facts is not a change of data."""

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


# --- The exchange flows' kept facts (analytics 0002, ``flows_sql``) ----------------------

# What a flow fact counts: the exchanges of a (provider, recipient) country pair, of a
# region pair, or the grant's exchanges held that join any pair (its totals, where the
# pair is empty). And for the portfolio indicators (analytics 0003, ``indicators_sql``):
# the grant itself (every exchange held, its amount, whether it held a study tour and
# reports a concrete result) and each country it involves as recipient or provider (in
# ``provider``), its own or its exchanges held's.
FLOW_BY_COUNTRY, FLOW_BY_REGION, FLOW_TOTAL = "c", "r", "t"
GRANT_FACTS, RECIPIENT_COUNTRY, PROVIDER_COUNTRY = "g", "R", "P"
FLOW_KINDS = [
    (FLOW_BY_COUNTRY, "by country"),
    (FLOW_BY_REGION, "by region"),
    (FLOW_TOTAL, "total"),
    (GRANT_FACTS, "the grant"),
    (RECIPIENT_COUNTRY, "a recipient country"),
    (PROVIDER_COUNTRY, "a provider country"),
]


class GrantFlowFacts(models.Model):
    """One grant's exchanges held in one flow (a country pair, a region pair, or its
    totals: ``kind``), with their participants and women, and the grant's status: the
    exchange-flows report sums them over the grants in scope. An exchange counts once
    in each pair it joins, and once in its grant's totals."""

    grant_id = models.BigIntegerField(db_index=True)
    status = models.CharField(max_length=20)
    kind = models.CharField(max_length=1, choices=FLOW_KINDS)
    provider = models.CharField(max_length=3, blank=True)
    recipient = models.CharField(max_length=3, blank=True)
    exchanges = models.IntegerField()
    participants = models.BigIntegerField()
    women = models.BigIntegerField()
    # The grant's row only (GRANT_FACTS): its approved amount, whether it held a study
    # tour, whether its completion report names a concrete result.
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    study_tour = models.BooleanField(default=False)
    concrete = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grant_id", "kind", "provider", "recipient"], name="flow_fact_once"
            )
        ]

    def __str__(self):
        return f"grant {self.grant_id} {self.kind} {self.provider}->{self.recipient}"


class FlowTotals(models.Model):
    """The flow facts summed per grant status and flow: what a scope made of whole
    statuses (a fund manager's, a donor's, the public's) adds up, a few thousand rows
    whatever the portfolio's size. ``grants`` is the number of grants with exchanges in
    the flow; each grant has one status, so the statuses' rows add up."""

    status = models.CharField(max_length=20)
    kind = models.CharField(max_length=1, choices=FLOW_KINDS)
    provider = models.CharField(max_length=3, blank=True)
    recipient = models.CharField(max_length=3, blank=True)
    grants = models.BigIntegerField()
    exchanges = models.BigIntegerField()
    participants = models.BigIntegerField()
    women = models.BigIntegerField()
    # The grants' rows (GRANT_FACTS): their amounts summed, how many have one, how many
    # held a study tour, how many report a concrete result.
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    amounted = models.BigIntegerField(default=0)
    study_tours = models.BigIntegerField(default=0)
    concrete = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status", "kind", "provider", "recipient"], name="flow_totals_once"
            ),
            models.CheckConstraint(
                condition=models.Q(grants__gte=0) & models.Q(exchanges__gte=0),
                name="flow_totals_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.status} {self.kind} {self.provider}->{self.recipient}"


class GrantFlowDirty(models.Model):
    """A grant whose flow facts are to be computed again (analytics 0002's triggers)."""

    grant_id = models.BigIntegerField()

    def __str__(self):
        return f"grant {self.grant_id}"
