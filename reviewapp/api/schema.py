"""OpenAPI generation: every operation documents the errors it can answer with, in the one
shape the exception handler produces."""
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from .idempotency import IDEMPOTENCY_PARAMETER

API_DESCRIPTION = """
Find, prove and clean up duplicate images without losing the last good copy.

**Authentication.** Send `Authorization: Token <token>`; a token acts as its user, with that user's
role, until it expires (`DOPPEL_API_TOKEN_DAYS`, default 90). Create one with
`python manage.py doppel_token <username>` (printed once; only its digest is stored). Browser
sessions work too; unsafe methods then need the CSRF token (`X-CSRFToken` header).

**Roles.** Curators read everything and work the review queue (leases, decisions, undo).
Admins also add sources, start/pause/resume/cancel jobs, upload name lists, plan and confirm
deletions, run legal takedowns, export the error log and report reingests as ingested.

**Rate limits.** Every write (POST/PUT/PATCH/DELETE) counts against the per-user `write` rate
(`DOPPEL_API_WRITE_RATE`, default `600/min`); over it the answer is 429 with `Retry-After`.
Reads are not limited.

**Retries.** Action POSTs accept an `Idempotency-Key` header: a retry with the same key returns
the first response and changes nothing twice; reusing a key for a different request is a 422.

**Errors.** Every error is JSON: `{"detail": "...", "code": "...", "errors": {field: [messages]}}`
(`errors` only for invalid input): 400 bad input or filter value, 401 not authenticated,
403 wrong role, 404 unknown id or cursor, 409 conflict with the current state, 422 reused
Idempotency-Key, 429 rate limited, 502 storage unreachable.

**Lists** use cursor pagination: follow `next` until it is null (`page_size` up to 500).
""".strip()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="what is wrong, in one sentence")
    code = serializers.CharField(help_text="machine-readable error code")
    errors = serializers.JSONField(required=False, help_text="field name → list of messages (invalid input only)")


ERROR_DESCRIPTIONS = {
    "400": "Invalid input, filter value or Idempotency-Key",
    "401": "Not authenticated",
    "403": "Authenticated but not allowed (role) or CSRF check failed",
    "404": "Unknown id or invalid cursor",
    "409": "Conflicts with the current state",
    "415": "Unsupported request media type",
    "422": "Idempotency-Key reused with a different request",
    "429": "Write rate limit exceeded",
    "502": "Storage could not be reached",
}
READ_ERRORS = ("400", "401", "403", "404")
WRITE_ERRORS = READ_ERRORS + ("409", "415", "422", "429", "502")


class DoppelAutoSchema(AutoSchema):
    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        if getattr(handler, "idempotent", False):
            params.append(IDEMPOTENCY_PARAMETER)
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD", "OPTIONS") else WRITE_ERRORS
        for code in codes:
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = ERROR_DESCRIPTIONS[code]
                # errors are JSON on every endpoint, downloads included (DoppelViewSet.handle_exception)
                content = body.get("content") or {}
                schema = next(iter(content.values()), {}).get("schema")
                if schema is not None:
                    body["content"] = {"application/json": {"schema": schema}}
                responses[code] = body
        return responses


def describe_api(result, generator, request, public):
    """Postprocessing hook: the long description (auth, roles, rate limits, retries, errors)."""
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    return result
