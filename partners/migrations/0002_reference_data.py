from django.db import migrations

ROLES = ["fund_manager", "task_team_leader", "donor"]


def load(apps, schema_editor):
    from partners.reference_data import load_reference_data

    load_reference_data(apps.get_model("partners", "Country"), apps.get_model("partners", "Sector"))
    Group = apps.get_model("auth", "Group")
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    apps.get_model("partners", "Fund").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
