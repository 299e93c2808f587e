"""The UI's two roles, for the API: tokens act as their user, so the same checks apply."""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .. import roles


class IsCurator(BasePermission):
    message = "You need the curator role for this."

    def has_permission(self, request, view):
        return roles.is_curator(request.user)


class IsDoppelAdmin(BasePermission):
    message = "You need the admin role for this."

    def has_permission(self, request, view):
        return roles.is_admin(request.user)


class CuratorReadsAdminWrites(BasePermission):
    """Curators may read (they review against these rows); changing them is for admins."""

    message = "Reading needs the curator role; changes need the admin role."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return roles.is_curator(request.user)
        return roles.is_admin(request.user)
