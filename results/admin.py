"""Admin for results stories (written through the story services) and the outcomes."""

from django import forms
from django.contrib import admin, messages
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from grants.models import APPROVED_AND_LATER
from seetf.common.admin import ReadOnlyAdmin
from seetf.common.errors import ApplicationError

from . import permissions as rules
from . import services
from .models import (
    CompletionReport,
    ConcreteResult,
    ExPostCheck,
    FeedbackAnswer,
    FeedbackLink,
    FollowUpNeed,
    Lesson,
    Outcome,
    ResultsStory,
)

STORY_FORM_FIELDS = ["grant", "title", "body", "sectors", "countries", "outcomes"]


class ResultsStoryAdminForm(forms.ModelForm):
    class Meta:
        model = ResultsStory
        fields = STORY_FORM_FIELDS

    def clean(self):
        cleaned = super().clean()
        # The services' own rules, shown on the form's fields instead of failing on save.
        services.validate_story(
            grant=cleaned.get("grant"),
            title=cleaned.get("title") or "",
            body=cleaned.get("body") or "",
            outcomes=cleaned.get("outcomes") or (),
        )
        return cleaned


@admin.register(ResultsStory)
class ResultsStoryAdmin(admin.ModelAdmin):
    """Saving goes through ``story_create`` / ``story_update``, so the HTML is rendered
    and sanitized and the search vector refreshed exactly as through the API."""

    form = ResultsStoryAdminForm
    list_display = ["title", "grant", "published", "published_at", "updated_at"]
    list_filter = ["published", "outcomes"]
    list_select_related = ["grant"]
    search_fields = ["title", "slug", "grant__reference"]
    filter_horizontal = ["sectors", "countries", "outcomes"]
    readonly_fields = [
        "slug",
        "published",
        "published_at",
        "created_by",
        "created_at",
        "updated_at",
        "rendered_body",
    ]
    actions = ["publish", "unpublish"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and rules.can_write_stories(request.user)[0]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and rules.can_write_stories(request.user)[0]

    def has_delete_permission(self, request, obj=None):
        # Stories are unpublished, not deleted, so links to them stay explainable.
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "grant":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                status__in=APPROVED_AND_LATER
            ).order_by("reference")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("Body as published (sanitized)"))
    def rendered_body(self, story):
        # body_html is the sanitizer's output, safe to show as HTML.
        return mark_safe(story.body_html)  # noqa: S308

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in STORY_FORM_FIELDS}
        if change:
            story = services.story_update(story=obj, user=request.user, **fields)
        else:
            story = services.story_create(user=request.user, **fields)
        obj.pk = story.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # The service has set the many-to-many relations; only formsets are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def _apply(self, request, queryset, service, done):
        count = 0
        for story in queryset:
            try:
                service(story=story, user=request.user)
            except ApplicationError as refused:
                self.message_user(request, f"{story}: {refused.message}", messages.WARNING)
            else:
                count += 1
        self.message_user(request, done(count) % {"count": count})

    @admin.action(description=_("Publish the selected stories"), permissions=["change"])
    def publish(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.story_publish,
            lambda n: ngettext("%(count)d story published.", "%(count)d stories published.", n),
        )

    @admin.action(description=_("Unpublish the selected stories"), permissions=["change"])
    def unpublish(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.story_unpublish,
            lambda n: ngettext("%(count)d story unpublished.", "%(count)d stories unpublished.", n),
        )


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    """The six capacity outcomes, seeded by a migration: read only."""

    list_display = ["code", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConcreteResultInline(admin.TabularInline):
    model = ConcreteResult
    fields = ["kind", "description"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CompletionReport)
class CompletionReportAdmin(ReadOnlyAdmin):
    """Completion reports are written by leaders and accepted by fund managers through
    the services (which move the grant's status): read-only here."""

    list_display = ["grant", "rating", "follow_up_needed", "submitted_at", "accepted_at"]
    list_filter = ["rating", "follow_up_needed"]
    list_select_related = ["grant"]
    inlines = [ConcreteResultInline]


@admin.register(ConcreteResult)
class ConcreteResultAdmin(ReadOnlyAdmin):
    list_display = ["report", "kind", "description"]
    list_filter = ["kind"]
    list_select_related = ["report__grant"]


# After the exchange: needs are written with the report and decided through the
# services (financed once, audited), ex-post checks created at closing and filed by the
# leader: read-only here.


@admin.register(FollowUpNeed)
class FollowUpNeedAdmin(ReadOnlyAdmin):
    list_display = ["grant", "kind", "status", "estimated_usd", "financed_by_grant"]
    list_filter = ["kind", "status"]
    list_select_related = ["grant", "financed_by_grant"]


@admin.register(ExPostCheck)
class ExPostCheckAdmin(ReadOnlyAdmin):
    list_display = ["grant", "months_after_close", "due_on", "submitted_at"]
    list_filter = ["months_after_close"]
    list_select_related = ["grant"]


# Lessons and feedback are written through their services (reviewed, audited; answers
# only from the participants' page): read-only here.


@admin.register(Lesson)
class LessonAdmin(ReadOnlyAdmin):
    list_display = ["id", "grant", "evidence_level", "review_status", "reviewed_at"]
    list_filter = ["evidence_level", "review_status"]
    list_select_related = ["grant"]
    search_fields = ["grant__reference", "what_worked", "what_did_not", "why"]


@admin.register(FeedbackLink)
class FeedbackLinkAdmin(ReadOnlyAdmin):
    list_display = ["id", "exchange", "expires_at", "closed_at", "created_at"]
    list_select_related = ["exchange"]
    exclude = ["token_hash"]


@admin.register(FeedbackAnswer)
class FeedbackAnswerAdmin(ReadOnlyAdmin):
    list_display = ["id", "exchange", "relevance", "usefulness", "intention", "created_at"]
    list_select_related = ["exchange"]
    exclude = ["session_key"]
