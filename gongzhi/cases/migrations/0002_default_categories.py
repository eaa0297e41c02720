from django.db import migrations


def load(apps, schema_editor):
    from gongzhi.cases.categories import load_default_categories

    load_default_categories(apps.get_model("cases", "Category"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
