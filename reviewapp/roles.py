"""Two roles, as Django groups: curators review; admins also manage sources, jobs, deletions and
exports. API tokens act as their user, so the same checks serve the UI and the API."""
from django.contrib.auth.models import Group, Permission

CURATOR = "curator"
ADMIN = "admin"
REVIEW_PERM = "reviewapp.review_assets"
MANAGE_PERM = "reviewapp.manage_doppel"


def ensure_groups():
    """Idempotent: runs after every migrate."""
    review = Permission.objects.get(codename="review_assets", content_type__app_label="reviewapp")
    manage = Permission.objects.get(codename="manage_doppel", content_type__app_label="reviewapp")
    curator, _ = Group.objects.get_or_create(name=CURATOR)
    curator.permissions.add(review)
    admin, _ = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.add(review, manage)
    return curator, admin


def is_curator(user):
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(REVIEW_PERM))


def is_admin(user):
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_PERM))


def add_to_role(user, role):
    curator, admin = ensure_groups()
    user.groups.add(admin if role == ADMIN else curator)
    if role == ADMIN:
        user.groups.add(curator)
    # has_perm caches per instance; drop the cache so the new role counts at once
    for attr in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(attr, None)
