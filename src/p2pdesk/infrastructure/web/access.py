"""Who is at the desk, and the one place where application errors become pages.

Every desk view is wrapped by `desk_view`: it requires a signed-in user with a desk role, hands the
view that user's Principal, and turns application and domain errors into a 4xx page -- or, after a
form post, into a message on the page the form came from (post/redirect/get), never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from p2pdesk import bootstrap
from p2pdesk.application.errors import ApplicationError, NotFound, PermissionDenied
from p2pdesk.application.principal import Principal, Role
from p2pdesk.domain.errors import DomainError
from p2pdesk.ports.queries import InvalidQuery

# Email HTML is sanitised, and on top of that the desk's pages load nothing but their own files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

DeskView = Callable[..., HttpResponse]


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "web/error.html", {"status": status, "message": message}, status=status)


def desk_view(view: DeskView) -> DeskView:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        principal = bootstrap.principal_for(request.user)
        if principal is None or principal.role == Role.INTEGRATION:
            response = error_page(request, 403, "This account has no desk role; ask an admin to grant one.")
        else:
            response = _run(view, request, principal, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    return wrapper


def _run(
    view: DeskView, request: HttpRequest, principal: Principal, *args: Any, **kwargs: Any
) -> HttpResponse:
    try:
        return view(request, principal, *args, **kwargs)
    except NotFound as exc:
        return error_page(request, 404, exc.message)
    except PermissionDenied as exc:
        return error_page(request, 403, exc.message)
    except InvalidQuery as exc:
        fields = ", ".join(sorted(exc.errors))
        return error_page(request, 400, f"Some filters are not valid: {fields}.")
    except (ApplicationError, DomainError) as exc:
        if request.method == "POST":
            messages.error(request, exc.message)
            return redirect(request.get_full_path())
        return error_page(request, 400, exc.message)


def user_email(request: HttpRequest) -> str:
    user = request.user
    return (getattr(user, "email", "") or user.get_username()).lower()
