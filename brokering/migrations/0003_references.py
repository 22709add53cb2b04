"""Offers and requests get a reference (OFR-YYYY-NNNN, REQ-YYYY-NNNN), the portfolio
workbook's natural key: the rows held are numbered in the order they were created, in
the year of their creation, and each year's counter is left at its last number."""

from django.db import migrations, models
from django.utils import timezone


def number(apps, schema_editor):
    Counter = apps.get_model("brokering", "BrokeringCounter")
    for name, prefix in (("Offer", "OFR"), ("ExchangeRequest", "REQ")):
        model = apps.get_model("brokering", name)
        last: dict[int, int] = {}
        rows = []
        for row in model.objects.filter(reference=None).order_by("created_at", "id").iterator():
            year = timezone.localtime(row.created_at).year
            last[year] = last.get(year, 0) + 1
            row.reference = f"{prefix}-{year}-{last[year]:04d}"
            rows.append(row)
        model.objects.bulk_update(rows, ["reference"], batch_size=2000)
        Counter.objects.bulk_create(
            Counter(prefix=prefix, year=year, last_number=n) for year, n in last.items()
        )


class Migration(migrations.Migration):
    dependencies = [("brokering", "0002_offer_search_vector")]

    operations = [
        migrations.AddField(
            model_name="exchangerequest",
            name="reference",
            field=models.CharField(editable=False, max_length=20, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="offer",
            name="reference",
            field=models.CharField(editable=False, max_length=20, null=True, unique=True),
        ),
        migrations.CreateModel(
            name="BrokeringCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("prefix", models.CharField(max_length=3)),
                ("year", models.PositiveSmallIntegerField()),
                ("last_number", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("prefix", "year"), name="brokering_counter_once"
                    )
                ],
            },
        ),
        migrations.RunPython(number, migrations.RunPython.noop),
    ]
