from django.db import migrations


def install(apps, schema_editor):
    """Version 1 on every new platform: the factory model trained on the public 问政 messages."""
    import json

    from gongzhi.dispatch import classifier, training

    ClassifierVersion = apps.get_model("dispatch", "ClassifierVersion")
    if ClassifierVersion.objects.exists():
        return
    meta = json.loads(training.FACTORY_META.read_text(encoding="utf-8"))
    blob = training.FACTORY_MODEL.read_bytes()
    model = classifier.TextModel.from_bytes(blob)
    from django.utils import timezone

    ClassifierVersion.objects.create(number=1, source="shared", labels=model.labels,
                                     training_rows=meta["training_rows"], holdout_rows=meta["scores"]["rows"],
                                     scores=meta["scores"], blob=blob, active=True, activated_at=timezone.now(),
                                     note=meta.get("note", "")[:300])


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
