"""The login log is append-only at the database level: UPDATE and DELETE are refused
(seetf.common.appendonly, as for the audit log); an axes reset never touches it."""

from django.db import migrations

from seetf.common import appendonly


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_login_log")]

    operations = [appendonly.operations("accounts_loginrecord")]
