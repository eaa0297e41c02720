"""Leave room in each page of the subjects' table for a second version of every row.

Every computation of a round rewrites each subject's result (total, rank, band… — none of them indexed). With full
pages PostgreSQL must put the new version of a row on another page and add it to all seven indexes; with free room on
the same page the update is HOT (heap-only) and touches no index: a city-wide round's 10,000-row update went from
300 ms to 40–70 ms. SQLite has no fill factor."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assessment_subject SET (fillfactor = 45)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assessment_subject RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("assessment", "0005_subject_fewer_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
