"""Partners, contributions and users in the admin. What changes money is read-only here
(the services own it); what an administrator may still edit (partners, a donor's partner,
the role groups, API tokens) is saved through the services or audited in the same
transaction as the service would (``audit.services.audit_record``). The user pages
themselves are accounts/admin.py's (roles audited as ``user.roles``)."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from audit.services import audit_record, diff, snapshot
from seetf.common.admin import ReadOnlyAdmin
from seetf.common.errors import ApplicationError
from seetf.common.forms import apply_service_errors

from . import permissions as rules
from . import services
from .models import (
    Contribution,
    Country,
    Fund,
    FundAlert,
    Partner,
    PartnerMembership,
    Receipt,
    Sector,
    Window,
    WindowApprover,
    WindowMovement,
)
from .roles import Role
from .services import contribution_update


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["code", "alpha2", "name", "region", "income_group"]
    list_filter = ["region", "income_group"]
    search_fields = ["code", "alpha2", "name"]


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]
    list_filter = ["category"]
    search_fields = ["code", "name"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "country", "joined_on", "iati_org_ref", "iati_org_type"]
    list_filter = ["kind", "iati_org_type"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["country"]

    def save_model(self, request, obj, form, change):
        """Through ``partner_create`` / ``partner_update``: validated and audited."""
        fields = {name: form.cleaned_data[name] for name in services.PARTNER_FIELDS}
        if change:
            saved = services.partner_update(partner=obj, actor=request.user, **fields)
        else:
            saved = services.partner_create(actor=request.user, **fields)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        with transaction.atomic():
            _audit_deleted(request, obj, "partner.delete", services.PARTNER_FIELDS)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for partner in queryset:
                _audit_deleted(request, partner, "partner.delete", services.PARTNER_FIELDS)
            super().delete_queryset(request, queryset)


def _audit_deleted(request, obj, action: str, fields) -> None:
    audit_record(
        actor=request.user,
        action=action,
        obj=obj,
        changes={k: [v, None] for k, v in snapshot(obj, fields).items()},
    )


class AuditedAccessAdmin:
    """For admin pages that change who may do what (a donor's partner): the user's access
    is read before the change and audited after it (``user.update``), in the admin's
    transaction, and their API tokens end when their partner changed, as
    ``user_create_or_update`` does."""

    def _user_of(self, obj):
        return obj

    def _access_before(self, obj):
        user = self._user_of(obj)
        if user is None or user.pk is None:
            return {}
        return services.user_access_state(get_user_model().objects.get(pk=user.pk))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin saves the object, then its many-to-many (the groups): read the
        # access before either (save_model), audit it after both, in one transaction.
        with transaction.atomic():
            request._access_saved = None
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request._access_saved is not None:
                self._audit_access(request, *request._access_saved)
        return response

    def save_model(self, request, obj, form, change):
        before = self._access_before(obj)
        super().save_model(request, obj, form, change)
        request._access_saved = (obj, before)

    def _audit_access(self, request, obj, before):
        user = get_user_model().objects.get(pk=self._user_of(obj).pk)
        changes = services.user_access_audit(actor=request.user, user=user, before=before)
        if before and ({"roles", "partner", "is_active", "is_superuser"} & set(changes)):
            services.user_tokens_revoke(user=user, why="access changed", actor=request.user)

    def delete_model(self, request, obj):
        with transaction.atomic():
            before = self._access_before(obj)
            user = self._user_of(obj)
            name, pk = user.get_username(), user.pk
            super().delete_model(request, obj)
            self._audit_removed(request, obj, before, f"user {name} (id {pk}) deleted")

    def _audit_removed(self, request, obj, before, reason):
        user = self._user_of(obj)
        if user is obj:
            audit_record(
                actor=request.user,
                action="user.delete",
                changes={k: [v, None] for k, v in before.items()},
                reason=reason,
            )
        else:
            services.user_access_audit(actor=request.user, user=user, before=before)
            services.user_tokens_revoke(user=user, why="access changed", actor=request.user)


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(AuditedAccessAdmin, admin.ModelAdmin):
    list_display = ["user", "partner"]
    list_select_related = ["user", "partner"]
    autocomplete_fields = ["partner"]
    raw_id_fields = ["user"]
    # Removed one at a time (delete_model audits each).
    actions = None

    def _user_of(self, obj):
        return obj.user if obj.user_id else None


class AuditedGroupAdmin(GroupAdmin):
    """Django's group admin: a role is a group by name (``partners.roles``), so renaming
    one, or changing its permissions, changes what its members may do: audited
    (``group.create``, ``group.update``, ``group.delete``)."""

    actions = None

    def _state(self, group):
        if group.pk is None:
            return {}
        group = Group.objects.get(pk=group.pk)
        return {
            "name": group.name,
            "permissions": sorted(group.permissions.values_list("codename", flat=True)),
        }

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic():
            request._group_saved = None
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request._group_saved is not None:
                group, before = request._group_saved
                changes = diff(before, self._state(group))
                if changes:
                    audit_record(
                        actor=request.user,
                        action="group.update" if before else "group.create",
                        obj=group,
                        changes=changes,
                    )
        return response

    def save_model(self, request, obj, form, change):
        before = self._state(obj)
        super().save_model(request, obj, form, change)
        request._group_saved = (obj, before)

    def delete_model(self, request, obj):
        with transaction.atomic():
            before = self._state(obj)
            audit_record(
                actor=request.user,
                action="group.delete",
                obj=obj,
                changes={k: [v, None] for k, v in before.items()},
            )
            super().delete_model(request, obj)


admin.site.unregister(Group)
admin.site.register(Group, AuditedGroupAdmin)


class AuditedTokenAdmin(TokenAdmin):
    """DRF's token admin; deleting a token is a revocation, audited (``token.revoke``)."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            services.user_tokens_revoke(
                user=obj.user, why="revoked in the admin", actor=request.user
            )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for token in queryset.select_related("user"):
                services.user_tokens_revoke(
                    user=token.user, why="revoked in the admin", actor=request.user
                )


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, AuditedTokenAdmin)


class ReceiptInline(admin.TabularInline):
    model = Receipt
    fields = [
        "received_on",
        "amount",
        "usd_amount",
        "recorded_by",
        "created_at",
        "reverses",
        "reason",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contribution)
class ContributionAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "partner",
        "currency",
        "pledged_amount",
        "pledged_usd",
        "received_usd",
        "signed_on",
    ]
    list_filter = ["currency", "partner__kind"]
    list_select_related = ["partner"]
    search_fields = ["reference", "partner__name"]
    inlines = [ReceiptInline]
    # The money is the services' (read-only here); the donor's IATI activity identifier,
    # which moves no money, may be set from the admin, through the same service.
    fields = [
        "partner",
        "reference",
        "currency",
        "pledged_amount",
        "pledged_usd",
        "received_amount",
        "received_usd",
        "signed_on",
        "period_start",
        "period_end",
        "provider_activity_id",
    ]
    readonly_fields = [f for f in fields if f != "provider_activity_id"]

    def has_change_permission(self, request, obj=None):
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        contribution_update(
            contribution=obj, provider_activity_id=form.cleaned_data["provider_activity_id"]
        )


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = [
        "contribution",
        "received_on",
        "amount",
        "usd_amount",
        "recorded_by",
        "reverses",
        "reason",
    ]
    list_select_related = ["contribution", "recorded_by"]
    date_hierarchy = "received_on"


@admin.register(Fund)
class FundAdmin(ReadOnlyAdmin):
    list_display = [
        "received_usd",
        "committed_usd",
        "disbursed_usd",
        "allocated_usd",
        "available_usd",
        "updated_at",
    ]


@admin.register(FundAlert)
class FundAlertAdmin(ReadOnlyAdmin):
    list_display = ["kind", "window", "raised_at", "resolved_at", "available_usd", "pipeline_usd"]
    list_filter = ["kind"]


class WindowApproverInline(admin.TabularInline):
    """Shown on the window's page; named and changed on the approvers' own admin pages
    (``WindowApproverAdmin``), through ``window_update``."""

    model = WindowApprover
    fields = ["user", "limit_usd"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WindowMovementInline(admin.TabularInline):
    model = WindowMovement
    fields = ["created_at", "kind", "amount_usd", "recorded_by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceAdminForm(forms.ModelForm):
    """An admin form saved by a service once the form is valid (``_service``, which
    returns the saved object), inside a savepoint: the service's refusal is shown on the
    form (each error next to its field) and what it began is undone. The admin's
    ``save_model`` then only points the admin at the saved object."""

    user = None  # the admin's user (set by ServiceAdmin.get_form)

    def _service(self):
        raise NotImplementedError

    def _post_clean(self):
        # In place of the model's own validation (its constraints' bare names): the
        # service's, which names the field and the rule, and then writes.
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.saved = self._service()
        except ApplicationError as error:
            self.add_error(None, error.message)
        except ValidationError as error:
            apply_service_errors(self, error)


class ServiceAdmin(admin.ModelAdmin):
    """Add and change through a ``ServiceAdminForm``, for fund managers (whom the
    window services allow; anyone else reads). The whole admin request is one
    transaction, undone unless the admin went on to save (a form or formset refused: the
    page shown again), so nothing is written unless all of it was saved."""

    def _may_manage(self, request) -> bool:
        return rules.can_manage_windows(request.user)[0]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_manage(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_manage(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_manage(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic():
            request._service_saved = False
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and not request._service_saved:
                transaction.set_rollback(True)
        return response

    def save_model(self, request, obj, form, change):
        obj.pk = form.saved.pk
        obj.refresh_from_db()
        request._service_saved = True

    def save_related(self, request, form, formsets, change):
        # The service has set the many-to-many relations; the inlines are read-only
        # (their formsets save nothing, but the admin's change message reads them).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class WindowAdminForm(ServiceAdminForm):
    class Meta:
        model = Window
        fields = sorted(services.WINDOW_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The code's pattern is the model field's (which the service leaves to its form).
        if "code" in self.fields:
            self.fields["code"].validators.extend(Window._meta.get_field("code").validators)

    def _service(self):
        fields = {name: self.cleaned_data[name] for name in services.WINDOW_FIELDS}
        if self.instance.pk is None:
            return services.window_create(user=self.user, **fields)
        window = Window.objects.get(pk=self.instance.pk)
        return services.window_update(window=window, user=self.user, **fields)


@admin.register(Window)
class WindowAdmin(ServiceAdmin):
    """Funding windows: created and edited here through ``window_create`` /
    ``window_update`` (checked, audited, the admin's user the actor), as on the window's
    page (/windows/) and through the API. Their money moves on that page or through the
    API only (allocate, release, close: locked and recorded as movements)."""

    form = WindowAdminForm
    list_display = [
        "code",
        "name",
        "kind",
        "region",
        "status",
        "allocated_usd",
        "committed_usd",
        "disbursed_usd",
        "available_usd",
    ]
    list_filter = ["kind", "status", "region"]
    search_fields = ["code", "name"]
    filter_horizontal = ["sectors"]
    readonly_fields = ["status", "allocated_usd", "committed_usd", "disbursed_usd"]
    inlines = [WindowApproverInline, WindowMovementInline]

    def has_delete_permission(self, request, obj=None):
        # A window is closed (its money returned, recorded), not deleted.
        return False


def _approvers_of(window: Window) -> list[dict]:
    return [
        {"user": a.user, "limit_usd": a.limit_usd}
        for a in window.approver_limits.select_related("user")
    ]


class WindowApproverAdminForm(ServiceAdminForm):
    class Meta:
        model = WindowApprover
        fields = ["window", "user", "limit_usd"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = (
                get_user_model()
                .objects.filter(groups__name=Role.WINDOW_MANAGER)
                .order_by("username")
                .distinct()
            )

    def _service(self):
        window = self.cleaned_data.get("window") or self.instance.window
        user = self.cleaned_data.get("user") or self.instance.user
        if self.instance.pk is None and window.approver_limits.filter(user=user).exists():
            raise ValidationError(
                {
                    "user": [
                        _("%(username)s approves in %(code)s already.")
                        % {"username": user.get_username(), "code": window.code}
                    ]
                }
            )
        approvers = [a for a in _approvers_of(window) if a["user"].pk != user.pk]
        approvers.append({"user": user, "limit_usd": self.cleaned_data["limit_usd"]})
        services.window_update(window=window, user=self.user, approvers=approvers)
        return WindowApprover.objects.get(window=window, user=user)


@admin.register(WindowApprover)
class WindowApproverAdmin(ServiceAdmin):
    """A window's approvers and their limits, named, changed and removed through
    ``window_update`` (a permission change: audited as ``window.approvers``)."""

    form = WindowApproverAdminForm
    list_display = ["window", "user", "limit_usd"]
    list_select_related = ["window", "user"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        # Another person or window is another approver: remove this one, name that one.
        return ["window", "user"] if obj is not None else []

    def delete_model(self, request, obj):
        with transaction.atomic():
            approvers = [a for a in _approvers_of(obj.window) if a["user"].pk != obj.user_id]
            services.window_update(window=obj.window, user=request.user, approvers=approvers)


@admin.register(WindowMovement)
class WindowMovementAdmin(ReadOnlyAdmin):
    list_display = ["window", "kind", "amount_usd", "recorded_by", "created_at", "reason"]
    list_filter = ["kind"]
    list_select_related = ["window", "recorded_by"]
