"""The login log in the admin (read only), and the admin's user pages made to go
through the services: a change of roles (groups), of superuser or staff status, a
deactivation or a new password there ends the user's API tokens
(``partners.services.user_tokens_revoke``), as the command and the web do, and a change
of roles is audited."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from audit.services import audit_record
from partners import services as partner_services
from seetf.common.admin import ReadOnlyAdmin

from . import services
from .models import LoginRecord, UserPreference

User = get_user_model()


@admin.register(LoginRecord)
class LoginRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "username", "user", "method", "outcome", "address"]
    list_filter = ["method", "outcome"]
    search_fields = ["username", "address"]
    list_select_related = ["user"]


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    """A user's saved language (README "Languages"), saved through the service. A user
    signed in now keeps their session's language until they next sign in or choose one."""

    list_display = ["user", "language"]
    list_filter = ["language"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change):
        services.language_set(user=obj.user, language=obj.language)


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            partner_services.user_tokens_revoke(user=user, why="password changed in the admin")
        return user


def _standing(user) -> dict:
    """What an API token speaks for: the user's groups, whether they are active, staff or
    a superuser."""
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
    }


class SeetfUserAdmin(UserAdmin):
    change_password_form = ServicePasswordChangeForm

    def save_model(self, request, obj, form, change):
        if change and obj.pk:
            request._seetf_standing_before = _standing(User.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_seetf_standing_before", None)
        if before is None:
            return
        user = form.instance
        after = _standing(user)
        if after != before:
            changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
            audit_record(actor=request.user, action="user.roles", obj=user, changes=changes)
            partner_services.user_tokens_revoke(user=user, why="roles changed in the admin")


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SeetfUserAdmin)
