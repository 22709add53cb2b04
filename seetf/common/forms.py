"""What every app's web forms share: the date and money widgets, the form base class
that marks required fields, and putting a service's refusal on the form. Forms parse
what was typed; the rules are the services'."""

import html
from contextlib import contextmanager

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from seetf.common.errors import ApplicationError


class DateInput(forms.DateInput):
    """The browser's date picker; the value is sent as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MoneyInput(forms.NumberInput):
    def __init__(self, attrs=None):
        defaults = {"step": "0.01", "min": "0", "inputmode": "decimal"}
        super().__init__(attrs={**defaults, **(attrs or {})})


class WebForm(forms.Form):
    """The web pages' forms: a required field's label is marked (site.css adds "*"),
    and a text's limit is said before it bites: "200 characters at most." in its help,
    and counted as one types (``data-maxlength``, seetf/forms.js). No ``maxlength``
    attribute: the browser would cut a pasted text silently, where the form says it is
    too long and keeps it to be shortened."""

    required_css_class = "required"

    def __init__(self, *args, **kwargs):
        # No ":" after labels (Form.__init__ would replace a class attribute).
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            limit = getattr(field, "max_length", None)
            if not isinstance(field, forms.CharField) or not limit or field.widget.is_hidden:
                continue
            field.widget.attrs.pop("maxlength", None)
            field.widget.attrs["data-maxlength"] = str(limit)
            said = _("%(limit)s characters at most.") % {
                "limit": number_format(limit, force_grouping=True)  # 5,000; 5 000 in French
            }
            field.help_text = f"{field.help_text} {said}".strip() if field.help_text else said


def apply_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: each message next to its field when
    the form has that field, otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


@contextmanager
def service_errors_on(form: forms.BaseForm):
    """Call a service for a valid web form: a refusal for the user's role (403) is the 403
    page; any other refusal (a wrong status, not enough money) goes at the top of the
    form and each validation error next to its field. The form has errors afterwards
    exactly when the service refused."""
    try:
        yield
    except ApplicationError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        form.add_error(None, error.message)
    except ValidationError as error:
        apply_service_errors(form, error)


class QuickSelect(forms.Select):
    """A select that writes its options in Python: the markup of Django's
    ``select.html`` and ``select_option.html``, byte for byte, without a template
    include per option (the offers catalogue's filters, some 330 sectors and countries,
    took more than half of its page's time). Options in groups keep Django's templates."""

    @classmethod
    def replacing(cls, widget: forms.Select) -> "QuickSelect":
        quick = cls(attrs=widget.attrs)
        quick.choices = widget.choices
        quick.is_required = widget.is_required
        return quick

    def render(self, name, value, attrs=None, renderer=None):
        choices = list(iter(self.choices))  # iter(): len() would count a model field's
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        selected = set(widget["value"])
        parts = [f'<select name="{_escape(name)}"{_attributes(widget["attrs"])}>']
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            mark = ""
            if option_value in selected:
                mark = " selected"
                if not self.allow_multiple_selected:
                    selected = ()
            parts.append(
                f'\n  <option value="{_escape(option_value)}"{mark}>{_escape(label)}</option>\n'
            )
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value escaped above


def _escape(value) -> str:
    """What a template's autoescape writes of a value (``conditional_escape``, without
    its lazy wrapper's cost on every call)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _attributes(attrs: dict) -> str:
    """A widget's attributes as Django's ``attrs.html`` writes them."""
    return "".join(
        f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


_DJANGO_FIELD_TEMPLATE = "django/forms/field.html"


def quick_field_group(field: forms.BoundField) -> str:
    """``field.as_field_group()``: the markup of Django's ``field.html`` (and of its
    label, ``label.html``), byte for byte, written in Python (the grant page shows a
    dozen fields, the offers catalogue six, and each took four template renders). A
    field that Django renders otherwise keeps Django's templates: a fieldset (radios,
    checkboxes), errors shown, a template of its own or another renderer's."""
    form = field.form
    if (
        field.use_fieldset
        or field.errors
        or field.field.template_name is not None
        or form.renderer.field_template_name != _DJANGO_FIELD_TEMPLATE
        or form.template_name_label != "django/forms/label.html"
    ):
        return field.as_field_group()
    parts = []
    if field.label:
        parts.append(_label_tag(field))
    parts.append("\n\n")
    if field.help_text:
        helped = f' id="{_escape(field.auto_id)}_helptext"' if field.auto_id else ""
        parts.append(f'<div class="helptext"{helped}>{field.help_text}</div>')
    parts.append("\n\n")
    parts.append(str(field))
    return mark_safe("".join(parts).strip())  # noqa: S308 - as Django's templates escape


# The marks after which a label takes no suffix: Django's own string, translated by
# Django's catalogue (a name, not a literal, so that the project's catalogues do not
# take it in as well).
LABEL_ENDINGS = ":?.!"


def _label_tag(field: forms.BoundField) -> str:
    """``BoundField.label_tag()`` as ``label.html`` writes it."""
    contents = field.label
    suffix = field.field.label_suffix
    if suffix is None:
        suffix = field.form.label_suffix
    if suffix and contents and contents[-1] not in _(LABEL_ENDINGS):
        contents = format_html("{}{}", contents, suffix)
    widget = field.field.widget
    id_ = widget.attrs.get("id") or field.auto_id
    if not id_:
        return _escape(contents)
    attrs = {}
    for_label = widget.id_for_label(id_)
    if for_label:
        attrs["for"] = for_label
    if field.field.required and hasattr(field.form, "required_css_class"):
        attrs["class"] = field.form.required_css_class
    return f"<label{_attributes(attrs)}>{_escape(contents)}</label>"


def quick_selects(form: forms.BaseForm) -> forms.BaseForm:
    """Give the form's plain selects ``QuickSelect``'s rendering (the same markup)."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            field.widget = QuickSelect.replacing(field.widget)
    return form
