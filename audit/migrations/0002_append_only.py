"""The audit log is append-only at the database level: UPDATE and DELETE are refused
(seetf.common.appendonly, as for the receipts and disbursements)."""

from django.db import migrations

from seetf.common import appendonly


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [appendonly.operations("audit_auditentry")]
