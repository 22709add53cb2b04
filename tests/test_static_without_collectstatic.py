"""With the production settings and no `collectstatic` (no manifest), pages render and
their static files are served (issue 14, point 8: every HTML page used to be a 500,
`Missing staticfiles manifest entry`). With `collectstatic`, pages name the hashed,
long-cached files of the manifest.

Each case runs the production settings in a subprocess (settings are read once per
process), through the WSGI application as gunicorn would, with an empty STATIC_ROOT."""

import json
import subprocess

from tests.test_settings import a_secret_key, run

PAGE_AND_ITS_STYLESHEET = """
import json, re, django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client()
out = {}
for path in ["/login/", "/hub/", "/no-such-page/", "/api/docs/"]:
    response = client.get(path, secure=True)
    out[path] = response.status_code
page = client.get("/login/", secure=True).content.decode()
stylesheet = re.search(r'href="(/static/seetf/site[^"]*\\.css)"', page).group(1)
out["stylesheet"] = stylesheet
out["stylesheet_status"] = client.get(stylesheet, secure=True).status_code
print(json.dumps(out))
"""


def production(tmp_path, code: str) -> subprocess.CompletedProcess:
    return run(
        ["-c", code],
        "seetf.settings.production",
        SECRET_KEY=a_secret_key(),
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        LOG_LEVEL="WARNING",
    )


def test_without_collectstatic_pages_render_and_name_the_plain_files(tmp_path):
    result = production(tmp_path, PAGE_AND_ITS_STYLESHEET)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {
        "/login/": 200,
        "/hub/": 200,
        "/no-such-page/": 404,
        "/api/docs/": 200,
        "stylesheet": "/static/seetf/site.css",
        "stylesheet_status": 200,
    }
    assert result.stderr.count("No static files manifest in") == 1, result.stderr


def test_after_collectstatic_pages_name_the_hashed_files(tmp_path):
    collect = production(
        tmp_path,
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('collectstatic', interactive=False, verbosity=0)",
    )
    assert collect.returncode == 0, collect.stderr
    result = production(tmp_path, PAGE_AND_ITS_STYLESHEET)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["/login/"] == 200
    assert out["stylesheet"].startswith("/static/seetf/site.")
    assert out["stylesheet"] != "/static/seetf/site.css"
    assert out["stylesheet_status"] == 200
    assert "No static files manifest" not in result.stderr
