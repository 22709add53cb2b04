"""The current code of a user's authenticator, computed as the app on their phone would
(django-otp's own TOTP), for tests that sign in with two factors."""

import time

from django_otp.oath import TOTP

from tests.conftest import second_factor_device


def current_code(user) -> str:
    """A code the user's authenticator accepts now: the current time step's, or, when
    that step was used already (a code is accepted once), the next one's (django-otp
    accepts codes within the device's tolerance of the current step)."""
    device = second_factor_device(user)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():0{device.digits}d}"
