"""The shared candidate index: what pairing looks up about canonical files, in the database.

Every worker queries it per batch of clean-up files; no process loads it whole, so worker memory
does not grow with the canonical store. Rows are derived from the asset's stored analysis
(`Asset.analysis`) by services/candidate_index.py and replaced when the analysis is.

Content search is multi-index hashing: each 64-bit pHash is cut into four 16-bit bands
(matching.index.split_bands) with a B-tree per band; a query looks up, in each band, the values
within a few bits of its own, and the exact distance is checked on the rows found. The B-tree keys
carry the hash and the asset, so PostgreSQL answers from the index alone (index-only scans).
"""
from django.db import models

from .assets import Asset


class CandidateIndexEntry(models.Model):
    """One indexed canonical asset: the exact checksum (byte-identical files pair first), its grey
    thumbnail and aspect ratio (the search for a damaged copy whose hashes are garbage) and the
    analysis the rows were made from (an asset analysed again since is indexed again)."""

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, primary_key=True, related_name="index_entry")
    checksum = models.CharField(max_length=64, blank=True, db_index=True, help_text="sha256 of the bytes")
    analysed_at = models.DateTimeField(null=True, blank=True, help_text="Asset.analysed_at of the indexed analysis")
    # the fallback search by thumbnail (matching.index.thumbnail_hits) reads these, by aspect ratio
    thumb = models.BinaryField(null=True, blank=True, help_text="grey thumbnail, THUMB_SIDE x THUMB_SIDE bytes")
    aspect = models.FloatField(null=True, blank=True, db_index=True, help_text="log(width / height)")


class CandidateIndexHash(models.Model):
    """One pHash of a canonical asset, with its four bands as indexed columns."""

    class Kind(models.IntegerChoices):
        WHOLE = 0, "Whole picture"
        REGION = 1, "Region"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    kind = models.SmallIntegerField(choices=Kind.choices)
    hash = models.BigIntegerField(help_text="the 64-bit pHash as a signed bigint")
    band0 = models.IntegerField()
    band1 = models.IntegerField()
    band2 = models.IntegerField()
    band3 = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["kind", f"band{i}", "hash", "asset"], name=f"cand_index_band{i}")
                   for i in range(4)]


class CandidateIndexId(models.Model):
    """An ID read from a canonical asset's name, as the engine reads it for pairing."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=64, db_index=True)
