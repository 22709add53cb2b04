from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from ..models import LoginRecord
from ..services import token_expires


class TokenRequestSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        write_only=True,
        help_text=_(
            "For a user who signs in with two factors (fund managers, window managers, "
            "superusers, and anyone who set one up): the code their authenticator app shows "
            "now, or one of their recovery codes (used up)."
        ),
    )


class TokenSerializer(serializers.Serializer):
    """One of the caller's API tokens, never the whole key."""

    prefix = serializers.SerializerMethodField(help_text=_("The first 8 characters of the key."))
    created = serializers.DateTimeField(read_only=True)
    expires = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_prefix(self, token) -> str:
        return token.key[:8]

    @extend_schema_field(serializers.DateTimeField())
    def get_expires(self, token):
        return serializers.DateTimeField().to_representation(token_expires(token))


class LoginRecordSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text=_("The user signing in, when the username named one (else null)."),
    )

    class Meta:
        model = LoginRecord
        fields = ["id", "at", "username", "user", "address", "method", "outcome", "user_agent"]
        read_only_fields = fields
