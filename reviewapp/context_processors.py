from .roles import is_admin, is_curator


def roles(request):
    user = getattr(request, "user", None)
    return {"is_doppel_admin": is_admin(user), "is_doppel_curator": is_curator(user)}
