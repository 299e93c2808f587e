"""API tokens (django-rest-knox). Only a SHA-512 digest of each token is stored, so a database
dump or the admin pages reveal no usable token; every token expires (DOPPEL_API_TOKEN_DAYS), and
the token string is shown once, when it is made."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from knox.models import AuthToken
from knox.settings import knox_settings

from ..roles import is_curator

MAX_DAYS = 366


def api_token_create(*, user, days: int | None = None) -> tuple[str, datetime]:
    """A new token acting as `user` (with that user's role), valid for `days` (default: the
    configured lifetime); returns (token, expiry). Only users with a Doppel role get one."""
    if not is_curator(user):
        raise ValidationError(f"{user.get_username()} has no Doppel role (curator or admin): a token would be refused")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"--days must be between 1 and {MAX_DAYS}")
    ttl = timedelta(days=days) if days is not None else knox_settings.TOKEN_TTL
    with transaction.atomic():
        instance, token = AuthToken.objects.create(user=user, expiry=ttl)
    return token, instance.expiry


def api_tokens_revoke(*, user) -> int:
    """Revoke every token of `user` (a lost laptop, a leaver); returns how many."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
