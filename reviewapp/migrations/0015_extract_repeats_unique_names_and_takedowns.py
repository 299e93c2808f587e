"""Extracts count a repeated name once (its own outcome, and a count per archive); source names are
unique regardless of case; an object is taken down once.

Before each constraint, the rows an earlier version let in are settled, so the migration cannot
fail on them: sources whose names differ only in case keep the oldest one's name and the later
ones are renamed `<name>-<id>` (printed); of the takedown rows of one object the first is kept and
the repeats go (printed). Takedown rows are append-only, but a repeat is the bug itself: its
reason and admin stay in the TAKEDOWN audit rows its request wrote for every step."""
import django.db.models.functions.text
from django.db import migrations, models


def rename_names_equal_but_for_case(apps, schema_editor):
    Source = apps.get_model("reviewapp", "Source")
    taken = set()
    for source in Source.objects.order_by("pk"):
        folded = source.name.lower()
        if folded not in taken:
            taken.add(folded)
            continue
        new, n = f"{source.name}-{source.pk}", 2
        while new.lower() in taken or Source.objects.filter(name__iexact=new).exclude(pk=source.pk).exists():
            new, n = f"{source.name}-{source.pk}-{n}", n + 1
        print(f"\n  source #{source.pk} {source.name!r} renamed {new!r}: another source has this name in another case")
        taken.add(new.lower())
        Source.objects.filter(pk=source.pk).update(name=new[:80])


def keep_the_first_takedown_of_each_object(apps, schema_editor):
    Takedown = apps.get_model("reviewapp", "Takedown")
    seen = set()
    for pk, asset_id in Takedown.objects.order_by("created_at", "pk").values_list("pk", "asset_id"):
        if asset_id in seen:
            print(f"\n  takedown #{pk} of asset #{asset_id} removed: the object's first takedown row stays")
            Takedown.objects.filter(pk=pk).delete()
        seen.add(asset_id)


class Migration(migrations.Migration):

    dependencies = [
        ('reviewapp', '0014_asset_icc'),
    ]

    operations = [
        migrations.AddField(
            model_name='extractarchive',
            name='repeated',
            field=models.PositiveIntegerField(default=0, help_text='names of an object an earlier line already named'),
        ),
        migrations.AlterField(
            model_name='extractmember',
            name='outcome',
            field=models.CharField(choices=[('extracted', 'Extracted'), ('ambiguous', 'Ambiguous (one was chosen and extracted)'), ('not_found', 'Not found'), ('archived', 'In an archive tier, not restored'), ('failed', 'Failed'), ('taken_down', 'Removed by a legal takedown'), ('repeated', 'Named again (counted once, on its first line)')], max_length=10),
        ),
        migrations.RunPython(rename_names_equal_but_for_case, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='source',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), name='source_unique_name_any_case', violation_error_message='a source with this name (in any case) already exists'),
        ),
        migrations.RunPython(keep_the_first_takedown_of_each_object, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='takedown',
            constraint=models.UniqueConstraint(fields=('asset',), name='takedown_once_per_asset'),
        ),
    ]
