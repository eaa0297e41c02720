from django.db import migrations


def add(apps, schema_editor):
    from gongzhi.cobuild.models import load_default_list_types

    load_default_list_types(apps.get_model("cobuild", "ListType"))


class Migration(migrations.Migration):
    dependencies = [("cobuild", "0001_initial")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
