"""Celery tasks: thin, take IDs, idempotent, and call services. Split by domain so the
pipeline and the executor can grow apart; Celery discovers them through this package."""
from .execution import *  # noqa: F401,F403
from .exports import *  # noqa: F401,F403
from .extracts import *  # noqa: F401,F403
from .maintenance import *  # noqa: F401,F403
from .namelists import *  # noqa: F401,F403
from .pipeline import *  # noqa: F401,F403
from .renditions import *  # noqa: F401,F403
