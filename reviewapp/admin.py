"""Django admin: a window onto every table. Append-only rows are read-only here, and state
changes go through the services (the UI and API), never through admin edits."""
from django.contrib import admin

from . import models as m


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "role", "location", "storage_profile", "last_inventory_at")
    list_filter = ("kind", "role")
    search_fields = ("name", "bucket", "prefix", "root")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Asset)
class AssetAdmin(ReadOnlyAdmin):
    list_display = ("key", "source", "state", "size", "storage_class", "format", "width", "height", "decode_status")
    list_filter = ("source", "state", "decode_status", "format", "storage_class")
    search_fields = ("key", "name", "etag")


@admin.register(m.NameList)
class NameListAdmin(ReadOnlyAdmin):
    list_display = ("title", "source", "requested", "found", "not_found", "ambiguous", "created_at")


@admin.register(m.Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ("cleanup_asset", "match_asset", "verdict", "diff_score", "local_score", "rotation", "flipped", "corrupt_side", "safe_to_delete", "status", "engine_version")
    list_filter = ("verdict", "status", "safe_to_delete", "corrupt_side")


@admin.register(m.ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("asset", "verdict", "status", "leased_by", "lease_expires_at", "decided_at")
    list_filter = ("status", "verdict")


@admin.register(m.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "asset", "candidate", "actor", "bulk")
    list_filter = ("action", "bulk")


@admin.register(m.ErrorLogEntry)
class ErrorLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "category", "asset", "match_asset", "created_by", "withdrawn")
    list_filter = ("category", "withdrawn")


@admin.register(m.ReingestItem)
class ReingestItemAdmin(ReadOnlyAdmin):
    list_display = ("asset", "state", "target_key", "checksum", "attempts", "updated_at")
    list_filter = ("state",)


@admin.register(m.Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "source", "requested", "found", "processed", "failed", "bytes_done", "bytes_total", "started_at", "finished_at")
    list_filter = ("kind", "state")


for model in (m.JobEvent, m.ReingestEvent, m.AuditEntry, m.DeletionPlan, m.DeletionItem, m.AssetIdentifier, m.NameListEntry):
    admin.site.register(model, ReadOnlyAdmin)
