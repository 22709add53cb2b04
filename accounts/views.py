"""The web pages of signing in with a second factor, of one's own account, and the login
log for fund managers. Writes go through ``accounts.services``."""

from base64 import b32encode
from io import BytesIO
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from audit.context import client_address
from seetf.common.forms import apply_service_errors

from . import permissions as rules
from . import selectors, services
from .filters import LoginRecordFilter
from .forms import CodeForm, ResetTwoFactorForm, SetupCodeForm, UnlockForm
from .models import LoginMethod, LoginOutcome
from .policy import (
    SESSION_CODE_FAILURES,
    SESSION_HAS_DEVICE,
    needs_second_factor,
    two_factor_required,
)

PAGE_SIZE = 50


def _require(rule_result: tuple[bool, str]) -> None:
    allowed, reason = rule_result
    if not allowed:
        raise PermissionDenied(reason)


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


def _to(name: str, request):
    """Redirect to a second-factor page, keeping where the user was going."""
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


def _log(request, outcome: str) -> None:
    services.login_record(
        username=request.user.get_username(),
        user=request.user,
        address=client_address(request),
        method=LoginMethod.OTP,
        outcome=outcome,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _verified(request, device) -> None:
    django_otp.login(request, device)
    request.session[SESSION_HAS_DEVICE] = True
    request.session.pop(SESSION_CODE_FAILURES, None)
    _log(request, LoginOutcome.SUCCESS)


# --- The second factor ------------------------------------------------------------------


@never_cache
@login_required
def two_factor(request):
    """The second step of signing in: a code of the authenticator app, or a recovery
    code. Wrong codes are throttled by the device (django-otp), and after
    SEETF_OTP_FAILURE_LIMIT of them in one session the session ends (the password again,
    which django-axes counts)."""
    if not needs_second_factor(request, request.user):
        return redirect(_next(request))
    if not services.two_factor_enrolled(request.user):
        return redirect(
            f"{reverse('accounts:two-factor-setup')}?{urlencode({'next': _next(request)})}"
        )
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user=request.user, code=form.cleaned_data["code"])
        except services.CodeRefused as refused:
            _log(request, LoginOutcome.OTP_FAILED)
            failures = request.session.get(SESSION_CODE_FAILURES, 0) + 1
            request.session[SESSION_CODE_FAILURES] = failures
            if failures >= settings.SEETF_OTP_FAILURE_LIMIT:
                logout(request)
                messages.error(request, _("Too many wrong codes: log in again."))
                return redirect("login")
            if refused.wait:
                form.add_error(
                    "code",
                    _("Too many wrong codes: wait %(seconds)d seconds, then type the current one.")
                    % {"seconds": refused.wait},
                )
            else:
                form.add_error("code", _("That code is not right. Type the current one."))
        else:
            _verified(request, device)
            if device.__class__.__name__ == "StaticDevice":
                left = device.token_set.count()
                messages.warning(
                    request,
                    _(
                        "You used a recovery code: %(left)d left. "
                        "Make new ones on your account page."
                    )
                    % {"left": left},
                )
            return redirect(_next(request))
    return render(request, "accounts/two_factor.html", {"form": form, "next": _next(request)})


def _may_set_up(request) -> bool:
    """Setting up an authenticator: anyone signed in who has none yet; replacing one only
    once this session has given the current one (else a stolen password would do)."""
    return not services.two_factor_enrolled(request.user) or request.user.is_verified()


@never_cache
@login_required
def two_factor_setup(request):
    """Set up an authenticator app: the secret as text and as a QR code, confirmed with a
    code the app shows; then the ten recovery codes, shown this once."""
    if not _may_set_up(request):
        return _to("accounts:two-factor", request)
    device = services.two_factor_setup(user=request.user)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.two_factor_confirm(
                user=request.user, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            _verified(request, device)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next(request), "new_device": True},
            )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "secret": _grouped(b32encode(device.bin_key).decode()),
            "next": _next(request),
            "required": needs_second_factor(request, request.user),
        },
    )


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
def two_factor_qr(request):
    """The QR code of the authenticator being set up, as SVG (never cached: it carries
    the secret)."""
    if not _may_set_up(request):
        raise PermissionDenied(_("Give your current code first."))
    device = services.two_factor_setup(user=request.user)
    url = device.config_url
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


# --- The language ------------------------------------------------------------------------


@require_POST
def set_language(request):
    """The header's switcher and the account page's choice (README "Languages"): Django's
    ``set_language`` (the cookie, the redirect to ``next``), and for a signed-in user the
    saved preference that pages, the API and e-mails follow. An empty ``language`` (the
    account page's "follow my browser") forgets both."""
    language = request.POST.get("language", "")
    response = django_set_language(request)
    if request.user.is_authenticated:
        try:
            services.language_set(user=request.user, language=language, session=request.session)
        except ValidationError:
            return response  # Not a language of the site: nothing saved.
    if language == "":
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


# --- One's own account ---------------------------------------------------------------------


@never_cache
@login_required
def account(request):
    """Signing in, for oneself: the second factor, recovery codes, API tokens."""
    tokens = [
        {
            "prefix": token.key[:8],
            "created": token.created,
            "expires": services.token_expires(token),
        }
        for token in selectors.tokens_visible_to(request.user)
    ]
    return render(
        request,
        "accounts/account.html",
        {
            "enrolled": services.two_factor_enrolled(request.user),
            "required": two_factor_required(request.user),
            "recovery_left": services.recovery_codes_left(request.user),
            "tokens": tokens,
            "lifetime_hours": settings.SEETF_TOKEN_LIFETIME_HOURS,
            "saved_language": selectors.saved_language(request.user),
        },
    )


@never_cache
@login_required
@require_POST
def recovery_codes(request):
    """Ten new recovery codes (the old ones stop working), shown this once."""
    if not request.user.is_verified():
        raise PermissionDenied(_("Sign in with your second factor first."))
    codes = services.recovery_codes_renew(user=request.user)
    return render(
        request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("home")}
    )


# --- The login log ---------------------------------------------------------------------------


@login_required
def logins(request):
    """Every login and failure, newest first, filtered (fund managers)."""
    _require(rules.can_read_logins(request.user))
    filterset = LoginRecordFilter(
        request.GET or None, queryset=selectors.logins_visible_to(request.user)
    )
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/logins.html",
        {"filter": filterset, "page": page, "reset_form": ResetTwoFactorForm()},
    )


@login_required
@require_POST
def two_factor_reset(request):
    """A fund manager removes another user's second factor (a lost phone)."""
    _require(rules.can_reset_two_factor(request.user, None))
    form = ResetTwoFactorForm(request.POST)
    if form.is_valid():
        target = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if target is None:
            messages.error(request, _("There is no user of that name."))
        else:
            _require(rules.can_reset_two_factor(request.user, target))
            removed = services.two_factor_reset(
                user=target, by=request.user, reason=form.cleaned_data["reason"]
            )
            if removed:
                messages.success(
                    request,
                    _(
                        "The second factor of %(name)s was removed: "
                        "they set up a new one at their next sign-in."
                    )
                    % {"name": target.get_username()},
                )
            else:
                messages.info(
                    request, _("%(name)s had no second factor.") % {"name": target.get_username()}
                )
    else:
        messages.error(request, _("Give the username and why."))
    return redirect("accounts:logins")


# --- A user's page (fund managers) ------------------------------------------------------------


def _user_page(request, target, unlock_form=None):
    return render(
        request,
        "accounts/user_detail.html",
        {
            "target": target,
            "lockout": selectors.lockout_of(target),
            "logins": selectors.logins_visible_to(request.user)
            .filter(user=target)
            .order_by("-at", "-id")[:10],
            "unlock_form": unlock_form or UnlockForm(),
            "may_unlock": rules.can_unlock(request.user, target)[0],
            "reset_form": ResetTwoFactorForm(initial={"username": target.get_username()}),
            "may_reset": rules.can_reset_two_factor(request.user, target)[0],
        },
    )


@login_required
def user_detail(request, username):
    """A user's sign-in state for fund managers: locked out or not, their last logins,
    and the buttons to unlock them and to reset their second factor."""
    _require(rules.can_read_logins(request.user))
    target = get_object_or_404(get_user_model(), username=username)
    return _user_page(request, target)


@login_required
@require_POST
def user_unlock(request, username):
    """A fund manager unlocks a locked-out user (``services.account_unlock``, audited)."""
    _require(rules.can_unlock(request.user, None))
    target = get_object_or_404(get_user_model(), username=username)
    _require(rules.can_unlock(request.user, target))
    form = UnlockForm(request.POST)
    if not form.is_valid():
        return _user_page(request, target, form)
    try:
        lifted = services.account_unlock(
            user=target, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return _user_page(request, target, form)
    messages.success(
        request,
        _("%(name)s can sign in again (%(n)s failed logins removed).")
        % {"name": target.get_username(), "n": lifted["failed_logins"]},
    )
    return redirect("accounts:user", username=target.get_username())
