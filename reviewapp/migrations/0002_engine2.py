from django.db import migrations, models


class Migration(migrations.Migration):
    """Engine 2: the full-detail proof (size, tolerance derived for the pair, worst tile, geometry)
    is recorded with each candidate."""

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
    ]
