"""Disbursements corrected only by reversing entries: amounts positive unless the entry
reverses another (then negative, with a reason; an entry is reversed at most once); the
table refuses UPDATE and DELETE (seetf.common.appendonly).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from seetf.common import appendonly


class Migration(migrations.Migration):

    dependencies = [
        ('grants', '0006_home_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='disbursement',
            name='disbursement_amount_positive',
        ),
        migrations.AddField(
            model_name='disbursement',
            name='reason',
            field=models.CharField(blank=True, help_text='Why the entry it reverses was reversed; empty for an original entry.', max_length=500),
        ),
        migrations.AddField(
            model_name='disbursement',
            name='reverses',
            field=models.OneToOneField(blank=True, help_text="The entry this one reverses (its amounts are the negative of that entry's); null for an original entry. An entry is reversed at most once.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversal', to='grants.disbursement'),
        ),
        migrations.AlterField(
            model_name='disbursement',
            name='recorded_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='disbursement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reverses__isnull', True), ('reason', ''), ('amount_usd__gt', 0)), models.Q(('reverses__isnull', False), models.Q(('reason', ''), _negated=True), ('amount_usd__lt', 0)), _connector='OR'), name='disbursement_sign_follows_reverses'),
        ),
        appendonly.operations(
            'grants_disbursement', parent='grant_id', amounts=('amount_usd',)
        ),
    ]
