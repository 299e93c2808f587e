from django.db import migrations, models


class Migration(migrations.Migration):
    """Engine 2: the full-detail proof (size, tolerance derived for the pair, worst tile, geometry)
    is recorded with each candidate; re-verification of open candidates is a job kind."""

    dependencies = [("reviewapp", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="candidate",
            name="proof",
            field=models.JSONField(blank=True, null=True, help_text="engine 2 full-detail proof: size, tolerance derived for this pair, worst tile, geometry"),
        ),
        migrations.AlterField(
            model_name="candidate",
            name="found_by",
            field=models.CharField(blank=True, help_text="checksum, id, content or id+content", max_length=20),
        ),
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(choices=[("inventory", "Inventory"), ("namelist", "Resolve name list"), ("restore", "Restore from archive"), ("analyse", "Analyse"), ("pair", "Pair candidates"), ("delete", "Execute deletion plan"), ("purge", "Purge quarantine"), ("reingest", "Reingest"), ("reingest_check", "Check reingests"), ("reverify", "Re-verify open candidates")], db_index=True, max_length=20),
        ),
    ]
