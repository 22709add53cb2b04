"""What every app's web forms share: the date and money widgets, the form base class
that marks required fields, and putting a service's refusal on the form. Forms parse
what was typed; the rules are the services'."""

from contextlib import contextmanager

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.formats import number_format
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
