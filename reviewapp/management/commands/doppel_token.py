"""`manage.py doppel_token USERNAME [--days N] [--revoke]`: make an API token (shown once) or
revoke all of a user's tokens."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.services.tokens import api_token_create, api_tokens_revoke

from .doppel_status import validation_message


class Command(BaseCommand):
    help = ("Make an API token for a user (it acts as that user, with their role, until it expires); the token is "
            "printed once and only its digest is stored. --revoke removes all of the user's tokens instead.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, help="lifetime in days (default: DOPPEL_API_TOKEN_DAYS, 90)")
        parser.add_argument("--revoke", action="store_true", help="revoke every token of this user")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user named {opts['username']!r}")
        if opts["revoke"]:
            n = api_tokens_revoke(user=user)
            self.stdout.write(f"revoked {n} token(s) of {user.username}")
            return
        try:
            token, expiry = api_token_create(user=user, days=opts["days"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stderr.write(f"token for {user.username}, valid until {expiry:%Y-%m-%d %H:%M} UTC "
                          "(shown once; send it as 'Authorization: Token <token>'):")
        self.stdout.write(token)
