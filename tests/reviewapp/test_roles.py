"""Curator and admin are Django groups with permissions, created by `migrate` itself."""
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from reviewapp import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _perms(group):
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_migrate_created_the_groups_with_their_permissions():
    # the test database was built by running the migrations: nothing else created these
    assert _perms(Group.objects.get(name=roles.CURATOR)) == {roles.REVIEW_PERM}
    assert _perms(Group.objects.get(name=roles.ADMIN)) == {roles.REVIEW_PERM, roles.MANAGE_PERM}


def test_migrate_again_changes_nothing():
    before = {g.name: _perms(g) for g in Group.objects.all()}
    call_command("migrate", verbosity=0, interactive=False)
    roles.ensure_groups()
    assert {g.name: _perms(g) for g in Group.objects.all()} == before
    assert Group.objects.filter(name__in=[roles.CURATOR, roles.ADMIN]).count() == 2


def test_role_checks():
    nobody = UserFactory(username="nobody")
    curator = UserFactory(username="cur", role="curator")
    admin = UserFactory(username="adm", role="admin")
    assert (roles.is_curator(nobody), roles.is_admin(nobody)) == (False, False)
    assert (roles.is_curator(curator), roles.is_admin(curator)) == (True, False)
    assert (roles.is_curator(admin), roles.is_admin(admin)) == (True, True)  # admins also review
    admin.is_active = False
    assert not roles.is_admin(admin) and not roles.is_curator(admin)
    assert not roles.is_curator(None)


def test_promotion_counts_at_once_on_the_same_instance():
    user = UserFactory(username="later", role="curator")
    assert not roles.is_admin(user)
    roles.add_to_role(user, roles.ADMIN)
    assert roles.is_admin(user)
    assert set(user.groups.values_list("name", flat=True)) == {roles.CURATOR, roles.ADMIN}


def test_anonymous_user_has_no_role():
    from django.contrib.auth.models import AnonymousUser

    assert not roles.is_curator(AnonymousUser()) and not roles.is_admin(AnonymousUser())
