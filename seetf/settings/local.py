"""Local development, what `manage.py` runs with no environment (as cookiecutter-django's
local settings): DEBUG on, a local-only secret key, SQLite, Celery tasks in-process, e-mail
printed to the console. Every variable of base still applies (`DEBUG=0` turns DEBUG off,
and then SECRET_KEY is required as in production).

Production (`seetf.wsgi`, gunicorn, Celery, the Dockerfile, docker compose) uses
`seetf.settings.production`, which has no such defaults.
"""

import os
from pathlib import Path

import environ

# The `.env` file first, so that what it says wins over the local defaults below (base reads
# it too, without overwriting: reading it twice changes nothing).
environ.Env.read_env(Path(__file__).resolve().parent.parent.parent / ".env", overwrite=False)
# DEBUG on unless the environment says otherwise; base then gives its local-only key.
os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402, F403

# The benchmark's app: `manage.py generate_portfolio` (README "Performance").
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
