"""Offers keep their description rendered (``render_markdown``), written by the offers'
writers with the description; existing offers are rendered here, in batches."""

from django.db import migrations, models

from results.markdown import render_markdown

BATCH = 2000


def render_existing(apps, schema_editor):
    Offer = apps.get_model("brokering", "Offer")
    rows = Offer.objects.order_by("pk").only("pk", "description")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        for offer in batch:
            offer.rendered_description = render_markdown(offer.description)
        Offer.objects.bulk_update(batch, ["rendered_description"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("brokering", "0004_offer_search_trigram"),
    ]

    operations = [
        migrations.AddField(
            model_name="offer",
            name="rendered_description",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(render_existing, migrations.RunPython.noop, elidable=True),
    ]
