"""Receipts bounded by the pledge's USD value, corrected only by reversing entries.

A contribution's received USD never exceeds its pledged USD; a receipt's amounts are
positive unless it reverses another (then negative, with a reason; a receipt is reversed
at most once); the table refuses UPDATE and DELETE (seetf.common.appendonly).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from seetf.common import appendonly


def refuse_if_over_credited(apps, schema_editor):
    """Name the contributions that would break the new bound instead of a bare
    constraint error: each needs its pledge amended (or a receipt reversed) first."""
    Contribution = apps.get_model("partners", "Contribution")
    over = list(
        Contribution.objects.filter(received_usd__gt=models.F("pledged_usd")).values_list(
            "reference", flat=True
        )
    )
    if over:
        raise RuntimeError(
            "These contributions were credited more USD than their pledge is worth; "
            f"amend their pledged_usd before migrating: {', '.join(over)}"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0003_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='receipt',
            name='receipt_amount_positive',
        ),
        migrations.RemoveConstraint(
            model_name='receipt',
            name='receipt_usd_amount_positive',
        ),
        migrations.AddField(
            model_name='receipt',
            name='reason',
            field=models.CharField(blank=True, help_text='Why the entry it reverses was reversed; empty for an original entry.', max_length=500),
        ),
        migrations.AddField(
            model_name='receipt',
            name='reverses',
            field=models.OneToOneField(blank=True, help_text="The entry this one reverses (its amounts are the negative of that entry's); null for an original entry. An entry is reversed at most once.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversal', to='partners.receipt'),
        ),
        migrations.AlterField(
            model_name='receipt',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(refuse_if_over_credited, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='contribution',
            constraint=models.CheckConstraint(condition=models.Q(('received_usd__lte', models.F('pledged_usd'))), name='contribution_received_usd_within_pledge'),
        ),
        migrations.AddConstraint(
            model_name='receipt',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reverses__isnull', True), ('reason', ''), ('amount__gt', 0), ('usd_amount__gt', 0)), models.Q(('reverses__isnull', False), models.Q(('reason', ''), _negated=True), ('amount__lt', 0), ('usd_amount__lt', 0)), _connector='OR'), name='receipt_sign_follows_reverses'),
        ),
        appendonly.operations(
            'partners_receipt', parent='contribution_id', amounts=('amount', 'usd_amount')
        ),
    ]
