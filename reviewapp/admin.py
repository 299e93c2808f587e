"""Django admin: a read-only window onto every table, for Doppel admins.

State changes go through the services (the UI, the API, the management commands), never through
admin edits: an edited Decision or a deleted audit row would destroy the record that proves what
happened. The only writes offered here are the job controls and the re-verify job start, and they
call the job services. No delete action exists on any table (Django's "delete selected" is switched
off site-wide), and the other apps' tables (tokens, login attempts, groups) are read-only too; user
accounts can be added and edited (roles are groups, and this is where an operator assigns them)
but never deleted: a decision's actor must keep existing, so deactivate an account instead.

The admin site is open to the Doppel *admin role* (reviewapp.manage_doppel), not to Django's
is_staff flag, so the same role check guards the UI, the API and this site. Curators are sent to
the admin login page, like anyone else without the role.
"""
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import models as m
from .roles import is_admin
from .services.analysis import reverify_start
from .services.jobs import job_cancel, job_pause, job_resume

admin.site.site_header = "Doppel administration"
admin.site.site_title = "Doppel admin"
admin.site.index_title = "Tables (read-only: changes go through the Doppel UI and API)"


class AdminRoleLoginForm(AuthenticationForm):
    """The admin login page asks for the admin role instead of Django's is_staff."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not is_admin(user):
            raise forms.ValidationError("This account does not have the Doppel admin role.", code="no_admin_role")


# The admin site's own gate: the admin role, whatever is_staff says.
admin.site.has_permission = lambda request: is_admin(request.user)
admin.site.login_form = AdminRoleLoginForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by Doppel admins; nobody adds, edits or deletes rows here."""

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Source)
class SourceAdmin(ReadOnlyAdmin):
    """Sources are added through the UI's form or `manage.py doppel_source add`, which refuse
    overlapping locations and unknown storage profiles."""

    list_display = ("name", "kind", "role", "location", "storage_profile", "last_inventory_at", "created_at")
    list_filter = ("kind", "role")
    search_fields = ("name", "bucket", "prefix", "root")


@admin.register(m.Asset)
class AssetAdmin(ReadOnlyAdmin):
    list_display = ("key", "source", "state", "size", "storage_class", "format", "width", "height", "decode_status")
    list_filter = ("source", "state", "decode_status", "format", "storage_class")
    search_fields = ("key", "name", "etag")
    list_select_related = ("source",)
    show_full_result_count = False  # a COUNT(*) on millions of rows per page view is not worth it


@admin.register(m.NameList)
class NameListAdmin(ReadOnlyAdmin):
    list_display = ("title", "source", "requested", "found", "not_found", "ambiguous", "created_at")
    list_select_related = ("source",)


@admin.register(m.Candidate)
class CandidateAdmin(ReadOnlyAdmin):
    list_display = ("cleanup_asset", "match_asset", "verdict", "diff_score", "local_score", "rotation", "flipped",
                    "corrupt_side", "safe_to_delete", "status", "engine_version")
    list_filter = ("verdict", "status", "safe_to_delete", "corrupt_side", "engine_version")
    list_select_related = ("cleanup_asset__source", "match_asset__source")
    raw_id_fields = ("cleanup_asset", "match_asset", "job")
    show_full_result_count = False


@admin.register(m.ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("asset", "verdict", "status", "leased_by", "lease_expires_at", "decided_at")
    list_filter = ("status", "verdict")
    list_select_related = ("asset__source", "leased_by")
    show_full_result_count = False
    actions = ["reverify_open"]

    @admin.action(description="Re-verify all open files with the current verifier (from stored data)")
    def reverify_open(self, request, queryset):
        job = reverify_start(actor=request.user)
        self.message_user(request, f"Re-verification queued as job #{job.pk}.", messages.SUCCESS)


@admin.register(m.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "asset", "candidate", "actor", "bulk")
    list_filter = ("action", "bulk")
    list_select_related = ("asset__source", "actor")
    date_hierarchy = "created_at"


@admin.register(m.ErrorLogEntry)
class ErrorLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "category", "asset", "match_asset", "created_by", "withdrawn")
    list_filter = ("category", "withdrawn")
    list_select_related = ("asset__source", "created_by")


@admin.register(m.ReingestItem)
class ReingestItemAdmin(ReadOnlyAdmin):
    list_display = ("asset", "state", "target_key", "checksum", "attempts", "updated_at")
    list_filter = ("state",)


@admin.register(m.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "source_name", "key", "etag", "kept_source_name", "kept_key",
                    "approved_by", "executed_by", "outcome")
    list_filter = ("action",)
    search_fields = ("key", "kept_key", "etag")
    date_hierarchy = "created_at"


@admin.register(m.Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "source", "requested", "found", "processed", "failed", "bytes_done",
                    "bytes_total", "started_at", "finished_at")
    list_filter = ("kind", "state")
    actions = ["pause_jobs", "resume_jobs", "cancel_jobs"]

    def has_change_permission(self, request, obj=None):
        # True on the list only, so the actions below show; a job's own page stays read-only
        # (saving a stale form would overwrite the counters a worker is updating).
        return obj is None and is_admin(request.user)

    def _run(self, request, queryset, service, verb):
        done = 0
        for job in queryset:
            try:
                service(actor=request.user, job=job)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"Job #{job.pk}: {' '.join(exc.messages)}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} job(s).", messages.SUCCESS)

    @admin.action(description="Pause selected jobs")
    def pause_jobs(self, request, queryset):
        self._run(request, queryset, job_pause, "Paused")

    @admin.action(description="Resume selected jobs")
    def resume_jobs(self, request, queryset):
        self._run(request, queryset, job_resume, "Resumed")

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        self._run(request, queryset, job_cancel, "Cancelled")


# Every other table of the app (event rows, plan items, new concepts as they land): read-only.
for _model in apps.get_app_config("reviewapp").get_models():
    if not admin.site.is_registered(_model):
        admin.site.register(_model, ReadOnlyAdmin)

# No bulk delete anywhere on the site, whatever a model admin's permissions say.
admin.site.disable_action("delete_selected")


def _read_only_version(model_admin_class, *, user_accounts=False):
    """The other apps' admins (auth, knox, axes) would let a superuser delete tokens, groups,
    login records and users, and run their bulk actions: keep their pages, drop the writes.
    User accounts keep add and change (the only place roles are assigned) but lose delete."""

    class Restricted(model_admin_class):
        actions = ()

        def has_delete_permission(self, request, obj=None):
            return False

        if not user_accounts:
            def has_module_permission(self, request):
                return is_admin(request.user)

            def has_view_permission(self, request, obj=None):
                return is_admin(request.user)

            def has_add_permission(self, request, *args):
                return False

            def has_change_permission(self, request, obj=None):
                return False

    Restricted.__name__ = Restricted.__qualname__ = f"ReadOnly{model_admin_class.__name__}"
    return Restricted


_user_model = get_user_model()
for _model, _model_admin in list(admin.site._registry.items()):
    if _model._meta.app_label != "reviewapp":
        admin.site.unregister(_model)
        admin.site.register(_model, _read_only_version(type(_model_admin), user_accounts=_model is _user_model))
