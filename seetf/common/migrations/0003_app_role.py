"""The application's own PostgreSQL role (seetf.common.dbrole): created if missing and
granted rows but no schema; the append-only tables INSERT and SELECT only. Run again
after every ``migrate`` (post_migrate) for the tables later migrations create."""

from django.db import migrations

from seetf.common import dbrole


class Migration(migrations.Migration):
    dependencies = [("common", "0002_datachange")]

    operations = [dbrole.migration_operation()]
