"""The Docker image and the compose file, checked as far as a machine without Docker can:
the files are parsed (the compose file with PyYAML, the Dockerfile line by line) and what
they name is compared with the project (modules, settings, requirements). Whether the
image builds and the services come up healthy needs a Docker engine; these tests do not
pretend to know.
"""

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import environ
import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
APP_SERVICES = ["web", "worker", "beat"]
SERVICES = [*APP_SERVICES, "postgres", "redis"]


def _interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` and `${NAME}`, with nothing set (the defaults), and
    `$$` for a literal `$`."""
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: match.group(2), value)
    value = re.sub(r"\$\{(\w+)\}", "", value)
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (BASE_DIR / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def command_of(service: dict) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def environment_of(service: dict) -> dict[str, str]:
    return {name: _interpolate(str(value)) for name, value in service["environment"].items()}


def healthcheck_of(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    return shlex.split(test) if isinstance(test, str) else test


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_has_every_service_with_a_health_check(compose):
    assert set(SERVICES) <= set(compose["services"])
    for name in SERVICES:
        test = healthcheck_of(compose["services"][name])
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name


def test_postgres_is_16_or_15_on_a_named_volume_and_checked_with_pg_isready(compose):
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:1[56](\.\d+)?(-\w+)?", postgres["image"])
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"], "the database is on a named volume"
    assert "pg_isready" in " ".join(healthcheck_of(postgres))
    environment = environment_of(postgres)
    assert environment["POSTGRES_DB"] and environment["POSTGRES_USER"]


def test_redis_is_checked_with_redis_cli_ping(compose):
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert healthcheck_of(redis)[1:] == ["redis-cli", "ping"]


def test_web_migrates_collects_static_files_and_serves_the_wsgi_app_on_8000(compose):
    web = compose["services"]["web"]
    command = command_of(web)
    steps = [
        "manage.py migrate --noinput",
        "manage.py collectstatic --noinput",
        "gunicorn seetf.wsgi --bind 0.0.0.0:8000",
    ]
    positions = [command.index(step) for step in steps]
    assert positions == sorted(positions), "migrate, then collectstatic, then gunicorn"
    assert 'DATABASE_URL="$$MIGRATE_DATABASE_URL" python manage.py migrate' in command, (
        "migrations run as the tables' owner"
    )
    assert "exec gunicorn" in command, "gunicorn replaces the shell, to get the stop signal"
    assert any(str(port).endswith("8000:8000") for port in web["ports"])


WEB_READYZ = "http://127.0.0.1:8000/readyz"


def test_web_health_check_fetches_readyz_with_python(compose):
    test = healthcheck_of(compose["services"]["web"])
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    compile(code, "healthcheck", "exec")  # valid Python, as the folded YAML gives it
    assert "urllib.request" in code
    assert WEB_READYZ in code
    assert "127.0.0.1" in environment_of(compose["services"]["web"])["ALLOWED_HOSTS"]


@pytest.mark.django_db(transaction=True)
def test_web_health_check_passes_when_ready_and_fails_when_not(compose, live_server, monkeypatch):
    """The health check's own code, run as docker runs it, against a live server: exit 0
    while /readyz answers 200, non-zero once a dependency is down (503)."""
    from django.db import OperationalError

    from seetf import health

    code = healthcheck_of(compose["services"]["web"])[3].replace(
        WEB_READYZ, f"{live_server.url}/readyz"
    )

    def run_check():
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        )

    ready = run_check()
    assert ready.returncode == 0, ready.stderr

    def database_down():
        raise OperationalError("down")

    monkeypatch.setattr(health, "check_database", database_down)
    down = run_check()
    assert down.returncode != 0
    assert "503" in down.stderr


def test_worker_and_beat_run_the_project_celery_app(compose):
    services = compose["services"]
    assert command_of(services["worker"]).startswith("celery -A seetf worker")
    assert command_of(services["beat"]).startswith("celery -A seetf beat")
    ping = " ".join(healthcheck_of(services["worker"]))
    assert "celery -A seetf inspect ping" in ping


def test_app_services_wait_for_healthy_dependencies(compose):
    services = compose["services"]
    for name, needs in {
        "web": ["postgres", "redis"],
        "worker": ["web", "redis"],
        "beat": ["web", "redis"],
    }.items():
        depends_on = services[name]["depends_on"]
        for dependency in needs:
            assert depends_on[dependency]["condition"] == "service_healthy", (name, dependency)


def test_app_services_are_configured_for_the_compose_network(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "."
        environment = environment_of(service)
        assert environment["DJANGO_SETTINGS_MODULE"] == "seetf.settings.production"
        database = environ.Env.db_url_config(environment["DATABASE_URL"])
        assert database["ENGINE"] == "django.db.backends.postgresql"
        assert (database["HOST"], int(database["PORT"])) == ("postgres", 5432)
        postgres = environment_of(compose["services"]["postgres"])
        assert database["NAME"] == postgres["POSTGRES_DB"]
        # The servers as the application's own role, with the password the migrations
        # give it; the migrations as the tables' owner (seetf.common.dbrole).
        assert database["USER"] == "seetf_app"
        assert database["PASSWORD"] == environment["SEETF_DB_APP_PASSWORD"]
        owner = environ.Env.db_url_config(environment["MIGRATE_DATABASE_URL"])
        assert (owner["HOST"], owner["NAME"]) == (database["HOST"], database["NAME"])
        assert owner["USER"] == postgres["POSTGRES_USER"]
        assert owner["PASSWORD"] == postgres["POSTGRES_PASSWORD"]
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        # One cache for every process, in its own Redis database, Django's own backend.
        cache = environ.Env.cache_url_config(environment["CACHE_URL"])
        assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert cache["LOCATION"] == "redis://redis:6379/1"
        assert environment["CACHE_URL"] != environment["CELERY_BROKER_URL"]
        assert "localhost" in environment["ALLOWED_HOSTS"].split(",")
        # Plain HTTP on localhost: see the comment in docker-compose.yml and production.py.
        assert environment["SECURE_SSL_REDIRECT"] == "0"
        assert environment["SECURE_COOKIES"] == "0"


def test_the_demo_secret_key_says_to_change_it(compose):
    """A compose-only default, documented as such; a real deployment sets its own."""
    raw = compose["services"]["web"]["environment"]["SECRET_KEY"]
    assert raw.startswith("${SECRET_KEY:-"), "an environment variable or .env overrides it"
    default = _interpolate(raw)
    assert "CHANGE-ME" in default.upper()
    assert len(default) >= 50 and len(set(default)) >= 5  # what check --deploy asks for


def test_the_compose_environment_starts_the_production_settings(compose):
    """The web service's environment (defaults interpolated) is accepted by the production
    settings, and `check --deploy` flags only what serving plain HTTP implies."""
    env = {"PATH": os.environ.get("PATH", ""), **environment_of(compose["services"]["web"])}

    def check(*options):
        return subprocess.run(
            [sys.executable, "manage.py", "check", *options],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    plain = check()
    assert plain.returncode == 0, plain.stderr
    deploy = check("--deploy")
    warnings = set(re.findall(r"\(security\.W\d+\)", deploy.stdout + deploy.stderr))
    assert warnings == {"(security.W008)", "(security.W012)", "(security.W016)"}, deploy.stderr


def test_the_commands_load_the_projects_wsgi_and_celery_apps(compose):
    """What the web, worker and beat commands name is loaded as gunicorn and `celery -A`
    load it: the module's ``application``, a Django WSGI handler; the project's Celery app
    (celery's own lookup, from the package to seetf.celery's ``app``)."""
    from celery.app.utils import find_app
    from django.core.handlers.wsgi import WSGIHandler

    from seetf.celery import app

    services = compose["services"]
    wsgi_module = re.search(r"gunicorn (\S+)", command_of(services["web"])).group(1)
    assert isinstance(importlib.import_module(wsgi_module).application, WSGIHandler)
    for name in ("worker", "beat"):
        celery_app = re.search(r"celery -A (\S+)", command_of(services[name])).group(1)
        assert find_app(celery_app) is app, name


# --- Dockerfile and .dockerignore ----------------------------------------------------------------


def test_the_image_installs_the_pinned_requirements_before_the_code(dockerfile):
    keywords = [keyword for keyword, _ in dockerfile]
    assert keywords[0] == "FROM"
    assert re.match(r"python:3\.1[1-9]", dockerfile[0][1]), "pyproject: requires-python >= 3.11"
    copies = [arguments.split() for keyword, arguments in dockerfile if keyword == "COPY"]
    assert copies[0] == ["requirements.txt", "constraints.txt", "./"]
    installs = [args for keyword, args in dockerfile if keyword == "RUN" and "pip install" in args]
    assert len(installs) == 1
    assert re.search(r"pip install -r requirements\.txt -c constraints\.txt", installs[0])
    # Dependencies are installed before the rest of the code is copied (layer caching).
    install_at = dockerfile.index(("RUN", installs[0]))
    assert dockerfile.index(("COPY", ". .")) > install_at
    for name in ["requirements.txt", "constraints.txt"]:
        assert (BASE_DIR / name).is_file()


def test_the_image_runs_production_as_a_user_on_port_8000(dockerfile):
    environment = " ".join(arguments for keyword, arguments in dockerfile if keyword == "ENV")
    assert "DJANGO_SETTINGS_MODULE=seetf.settings.production" in environment
    users = [arguments for keyword, arguments in dockerfile if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "8000") in dockerfile
    command = [arguments for keyword, arguments in dockerfile if keyword == "CMD"][-1]
    assert command.startswith('["gunicorn", "seetf.wsgi", "--bind", "0.0.0.0:8000"')


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {
        line.strip()
        for line in (BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in [".git", ".venv", ".env", "db.sqlite3*", "staticfiles"]:
        assert entry in ignored, entry
