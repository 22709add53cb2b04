"""Settings come from the environment (STYLE.md 10): what each environment variable does,
what happens without it, and that production passes Django's deployment checklist.

Settings are read once per process, so each case runs Python in a subprocess with a
clean environment: only PATH and the variables the case names (no DEBUG, no
DATABASE_URL, ... from the shell that runs the tests). A `.env` file in the checkout is
still read by the settings, as it would be in production; the repository has none.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SUBPROCESS_TIMEOUT = 120


def run(args: list[str], settings: str, **environ: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": settings, **environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


def read_settings(expression: str, settings: str = "seetf.settings.local", **environ) -> object:
    """The JSON value of ``expression`` (Python, with ``settings`` in scope) once Django is
    set up with these settings and only this environment."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({expression}, default=str))"
    )
    result = run(["-c", code], settings, **environ)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def a_secret_key() -> str:
    return secrets.token_urlsafe(64)  # 86 characters, from 64 random bytes


# --- Production -----------------------------------------------------------------------


def test_production_passes_the_deployment_checklist():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        "seetf.settings.production",
        SECRET_KEY=a_secret_key(),
        ALLOWED_HOSTS="seetf.example.org",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output


def test_plain_http_for_the_compose_demo_is_reported_by_the_checklist():
    """docker-compose serves plain HTTP on localhost (SECURE_SSL_REDIRECT=0,
    SECURE_COOKIES=0): a decision for a demo, which `check --deploy` must still flag."""
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        "seetf.settings.production",
        SECRET_KEY=a_secret_key(),
        ALLOWED_HOSTS="localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for check in ["security.W008", "security.W012", "security.W016"]:
        assert check in output, output


def test_production_refuses_to_start_without_a_secret_key():
    result = run(
        ["manage.py", "check"], "seetf.settings.production", ALLOWED_HOSTS="seetf.example.org"
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_refuses_debug():
    result = run(["manage.py", "check"], "seetf.settings.production", DEBUG="1")
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_debug_is_off_in_production_by_default():
    settings = "seetf.settings.production"
    assert read_settings("settings.DEBUG", settings, SECRET_KEY=a_secret_key()) is False


def test_debug_on_when_asked_for_locally_without_a_secret_key():
    assert read_settings("settings.DEBUG", DEBUG="1") is True


def test_locally_with_no_environment_at_all_the_embedded_default_runs():
    """What `manage.py` gets on a fresh clone: DEBUG, a local-only key, SQLite, tasks in
    process, e-mail on the console (README "Two commands")."""
    conf = read_settings(
        "{'debug': settings.DEBUG, 'key': settings.SECRET_KEY, "
        "'engine': settings.DATABASES['default']['ENGINE'], "
        "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'email': settings.EMAIL_BACKEND}"
    )
    assert conf == {
        "debug": True,
        "key": "django-insecure-local-only",
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
    }


def test_locally_debug_0_needs_a_secret_key_as_production_does():
    result = run(["manage.py", "check"], "seetf.settings.local", DEBUG="0")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_debug_0_in_the_env_file_wins_over_the_local_default(tmp_path):
    """A `.env` beside manage.py is read before the local default DEBUG=1 is applied."""
    (tmp_path / ".env").write_text("DEBUG=0\n")
    code = (
        "import environ, django; environ.Env.read_env = (lambda real: lambda path=None, **kw: "
        f"real({str(tmp_path / '.env')!r}, **kw))(environ.Env.read_env); "
        "django.setup(); from django.conf import settings; print(settings.DEBUG)"
    )
    result = run(["-c", code], "seetf.settings.local", SECRET_KEY=a_secret_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "entry_point",
    ["import seetf.wsgi", "import seetf.asgi", "import seetf.celery, django; django.setup()"],
)
def test_the_servers_and_celery_default_to_production_and_refuse_without_a_secret_key(
    entry_point,
):
    """gunicorn (seetf.wsgi), an ASGI server and a Celery worker started with no
    DJANGO_SETTINGS_MODULE get the production settings, never the local defaults."""
    result = subprocess.run(
        [sys.executable, "-c", entry_point],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set SECRET_KEY" in result.stderr


# --- SITE_URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "site_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8101"}, "http://127.0.0.1:8101"),
        ({"HOST": "localhost", "PORT": "8101"}, "http://localhost:8101"),
        ({"HOST": "0.0.0.0", "PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"PORT": "8101", "SITE_URL": "https://seetf.example.org/"}, "https://seetf.example.org"),
    ],
)
def test_site_url_follows_where_the_site_is_served(environ, site_url):
    assert read_settings("settings.SITE_URL", **environ) == site_url


@pytest.mark.parametrize(("arguments", "port"), [([], "8000"), (["PORT=8101"], "8101")])
def test_make_run_passes_its_host_and_port_to_the_settings(tmp_path, arguments, port):
    """`make run PORT=8101`: runserver serves on 8101 and its settings see PORT=8101 (so
    SITE_URL, above). A stand-in python records each command's arguments and environment."""
    record = tmp_path / "calls.jsonl"
    fake_python = tmp_path / "python"
    fake_python.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(record)!r}, 'a') as out:\n"
        "    keys = ('HOST', 'PORT', 'DEBUG', 'SEETF_DEMO')\n"
        "    env = {k: os.environ.get(k) for k in keys}\n"
        "    out.write(json.dumps({'argv': sys.argv[1:], 'env': env}) + '\\n')\n"
    )
    fake_python.chmod(0o755)
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "run",
            *arguments,
            f"PY={fake_python}",
        ],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    serve = calls[-1]
    assert serve["argv"] == ["manage.py", "runserver", f"127.0.0.1:{port}"]
    assert serve["env"] == {"HOST": "127.0.0.1", "PORT": port, "DEBUG": "1", "SEETF_DEMO": "1"}
    assert read_settings("settings.SITE_URL", **serve["env"]) == f"http://127.0.0.1:{port}"


# --- Database -------------------------------------------------------------------------------


def test_without_database_url_the_database_is_sqlite_that_waits_for_its_lock():
    database = read_settings("settings.DATABASES['default']", SECRET_KEY=a_secret_key())
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] >= 5


def test_database_url_selects_postgresql():
    database = read_settings(
        "settings.DATABASES['default']",
        SECRET_KEY=a_secret_key(),
        DATABASE_URL="postgres://seetf:s3cret@db.example.org:5433/seetf",
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        "seetf",
        "seetf",
        "s3cret",
    )
    assert (database["HOST"], int(database["PORT"])) == ("db.example.org", 5433)
    assert "transaction_mode" not in database.get("OPTIONS", {})


# --- Celery and e-mail -----------------------------------------------------------------------

CELERY_CONF = (
    "(lambda app: {'eager': app.conf.task_always_eager, 'broker': app.conf.broker_url})"
    "(__import__('seetf.celery', fromlist=['app']).app)"
)


def test_without_a_broker_celery_runs_tasks_at_once_in_process():
    conf = read_settings(CELERY_CONF, SECRET_KEY=a_secret_key())
    assert conf["eager"] is True


def test_with_a_broker_celery_sends_tasks_to_it():
    conf = read_settings(
        CELERY_CONF, SECRET_KEY=a_secret_key(), CELERY_BROKER_URL="redis://redis.example.org:6379/0"
    )
    assert conf == {"eager": False, "broker": "redis://redis.example.org:6379/0"}


CACHE_CONF = (
    "{'cache': settings.CACHES['default'], 'on': settings.DATA_CACHE, "
    "'timeout': settings.DATA_CACHE_TIMEOUT}"
)


def test_by_default_the_report_cache_is_on_in_bounded_local_memory():
    conf = read_settings(CACHE_CONF, SECRET_KEY=a_secret_key())
    assert conf["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert conf["cache"]["OPTIONS"]["MAX_ENTRIES"] == 32
    assert conf["on"] is True and conf["timeout"] == 3600


def test_cache_url_selects_redis_and_data_cache_0_turns_the_report_cache_off():
    conf = read_settings(
        CACHE_CONF,
        SECRET_KEY=a_secret_key(),
        CACHE_URL="redis://redis.example.org:6379/1",
        DATA_CACHE="0",
        DATA_CACHE_TIMEOUT="600",
    )
    assert conf["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert conf["cache"]["LOCATION"] == "redis://redis.example.org:6379/1"
    assert "MAX_ENTRIES" not in conf["cache"].get("OPTIONS", {})
    assert conf["on"] is False and conf["timeout"] == 600


EMAIL = (
    "{name: getattr(settings, name, None) for name in "
    "['EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_USE_TLS']}"
)


def test_email_goes_to_the_console_by_default():
    email = read_settings(EMAIL, SECRET_KEY=a_secret_key())
    assert email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_email_url_selects_smtp():
    email = read_settings(
        EMAIL, SECRET_KEY=a_secret_key(), EMAIL_URL="smtp+tls://fund:pw@mail.example.org:587"
    )
    assert email == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "fund",
        "EMAIL_USE_TLS": True,
    }


def test_plain_smtp_url_selects_smtp_too():
    email = read_settings(EMAIL, SECRET_KEY=a_secret_key(), EMAIL_URL="smtp://mail.example.org:25")
    assert email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (email["EMAIL_HOST"], email["EMAIL_PORT"]) == ("mail.example.org", 25)


# --- API docs without internet -----------------------------------------------------------------


class _References(HTMLParser):
    """Every URL a page makes the browser load or link to, and its inline scripts."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        self._in_script = tag == "script" and not attrs.get("src")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'`)<>]+""")


def _other_hosts(text: str) -> list[str]:
    return [url for url in ABSOLUTE_URL.findall(text) if urlsplit(url).hostname != "testserver"]


def test_api_docs_work_without_internet(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _other_hosts(html) == []

    page = _References()
    page.feed(html)
    assets = [url for url in page.urls if not url.startswith("/api/")]
    scripts = [url for url in page.urls if url.startswith("/api/docs/")]
    # Swagger UI's stylesheet, its two scripts and the icon, all from our /static/.
    assert len(assets) >= 4, page.urls
    for url in page.urls:
        assert urlsplit(url).netloc in ("", "testserver"), url
    for url in assets:
        assert urlsplit(url).path.startswith("/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert len(body) > 0, url
        if url.endswith(".js"):
            assert "javascript" in asset["Content-Type"], url
        if url.endswith(".css"):
            assert asset["Content-Type"].startswith("text/css"), url

    # The script that starts Swagger UI (inline, or served by the docs view itself) loads
    # the schema from this server, and nothing from elsewhere.
    init_code = "".join(page.inline_scripts)
    for url in scripts:
        script = client.get(url)
        assert script.status_code == 200, url
        init_code += script.content.decode()
    assert "SwaggerUIBundle" in init_code
    assert _other_hosts(init_code) == []
    schema_url = re.search(r"""url:\s*["']([^"']+)["']""", init_code).group(1)
    assert schema_url == "/api/schema/"
    assert client.get(schema_url).status_code == 200
