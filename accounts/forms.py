from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from seetf.common.forms import WebForm


class CodeForm(WebForm):
    code = forms.CharField(
        label=pgettext_lazy("sign-in code", "Code"),
        max_length=32,
        help_text=_("The 6 digits your authenticator app shows now, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class SetupCodeForm(WebForm):
    code = forms.CharField(
        label=pgettext_lazy("sign-in code", "Code"),
        max_length=32,
        help_text=_("The 6 digits the app shows for this account."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ResetTwoFactorForm(WebForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    reason = forms.CharField(label=_("Why"), max_length=500)


class UnlockForm(WebForm):
    reason = forms.CharField(
        label=_("Why"),
        max_length=500,
        help_text=_("For example: the user called and was identified. Kept in the audit log."),
    )
