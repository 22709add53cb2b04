"""Every `manage.py` command the README shows works as written, on a fresh clone, with no
environment (only PATH and HOME): the embedded default (seetf/settings/local.py).

Each command runs on a fresh copy of the tree (its own `db.sqlite3`), in the state the
README runs it from: after `make run` (migrated, the 2011 review loaded), or, for a command
the README says needs an empty database, just migrated. Each runs at a terminal (a
pseudo-terminal, as a person would type it; `docker compose exec` gives one too), and a
command that asks for input gets the answers ANSWERS declares for it: one that waits for
an answer nobody declared fails. Lines of ```sh blocks are commands; `docker compose exec
web python manage.py ...` runs its `manage.py ...` here, on the embedded default. A plain
``` block whose line starts with `$ ` is a transcript: the command is run and its output
must be what the README shows.
"""

import os
import re
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
README = BASE_DIR / "README.md"
PATH = "/usr/local/bin:/usr/bin:/bin"
TIMEOUT = 120
# The realistic large portfolio (20,000 grants, with its documents' files, comments and
# notifications) takes 80-90 s on SQLite on a quiet 2-core machine: more than the rest.
SLOW = {"generate_portfolio": 400}
PASSWORD = "a-long-test-password"

# The prompts a command asks at the terminal, and what the test types at each.
ANSWERS = {
    "createsuperuser": [
        (r"Username.*: $", "admin"),
        (r"Email address: $", "admin@example.org"),
        (r"Password: $", PASSWORD),
        (r"Password \(again\): $", PASSWORD),
    ],
    "create_seetf_user": [
        (r"Password for \S+: $", PASSWORD),
        (r"Password \(again\): $", PASSWORD),
    ],
}
# The state each command starts from, when it is not the one `make run` leaves.
STARTS_FROM = {
    # README "Performance": "into a database holding no grants or contributions yet".
    "generate_portfolio": "migrated",
}
# What the README must show at least (so that a README the parser misreads cannot pass).
EXPECTED = {
    "create_seetf_user",
    "createsuperuser",
    "run_jobs",
    "load_review_2011",
    "generate_portfolio",
    "migrate",
    "spectacular",
    "import_portfolio",
    "export_portfolio",
}
DOCKER_PREFIX = "docker compose exec web python manage.py "
# The colours Django gives an error at a terminal.
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


# --- The README's commands --------------------------------------------------------------------


def code_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Each fenced block: its language and its lines (backslash continuations joined)."""
    blocks, language, lines = [], None, []
    for line in text.splitlines():
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and language is None:
            language, lines = fence.group(1), []
        elif fence:
            blocks.append((language, lines))
            language = None
        elif language is not None:
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + line
            else:
                lines.append(line)
    return blocks


def as_run_here(line: str) -> str | None:
    """The line as this test runs it (its comment dropped), or None if it runs no
    `manage.py` command."""
    words = shlex.split(line, comments=True)
    command = shlex.join(words)
    if command.startswith(DOCKER_PREFIX):
        return ".venv/bin/python manage.py " + command.removeprefix(DOCKER_PREFIX)
    if "manage.py" not in words:
        return None
    assert words[:2] == [".venv/bin/python", "manage.py"], (
        f"README: {line!r} should run the project's Python: .venv/bin/python manage.py ..."
    )
    return command


def command_name(command: str) -> str:
    return shlex.split(command)[2]


def readme_commands() -> list[str]:
    commands = []
    for language, lines in code_blocks(README.read_text()):
        if language != "sh":
            continue
        for line in lines:
            command = as_run_here(line)
            if command is not None and command not in commands:
                commands.append(command)
    return commands


def readme_transcripts() -> list[tuple[str, list[str]]]:
    """(command, the output the README shows) for each `$ ` line of a plain block."""
    found = []
    for language, lines in code_blocks(README.read_text()):
        if language == "" and lines and lines[0].startswith("$ "):
            found.append((as_run_here(lines[0][2:]), lines[1:]))
    return found


# --- Fresh copies -----------------------------------------------------------------------------

LEFT_OUT_DIRS = {
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".import_linter_cache",
    "staticfiles",
}
LEFT_OUT_PATHS = {BASE_DIR / "docs" / "screenshots", BASE_DIR / "bench" / "results"}
LEFT_OUT_FILES = re.compile(r"^(db\.sqlite3.*|\.test-db.*|\.env|schema\.yml|celerybeat-.*)$")


def _left_out(directory: str, names: list[str]) -> set[str]:
    """What a fresh clone does not have: the databases, a `.env`, caches, the virtualenv
    (linked instead), and the screenshots and benchmark results (large, unused here)."""
    here = Path(directory)
    return {
        name
        for name in names
        if name in LEFT_OUT_DIRS
        or here / name in LEFT_OUT_PATHS
        or (LEFT_OUT_FILES.match(name) and not (here / name).is_dir())
    }


def environment(home: Path) -> dict[str, str]:
    return {"PATH": PATH, "HOME": str(home)}


def run(command: str, cwd: Path, env: dict[str, str], answers=()) -> tuple[int, str]:
    """Run a shell line at a pseudo-terminal in ``cwd``, typing ``answers`` (prompt
    pattern, text) as their prompts appear. Its exit status and its output (stdout and
    stderr, as the terminal shows them)."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        # A session of its own: getpass then reads the pseudo-terminal, never the
        # terminal this test may be running in.
        start_new_session=True,
    )
    os.close(terminal)
    timeout = max([TIMEOUT] + [s for name, s in SLOW.items() if name in command])
    output, pending, deadline = b"", list(answers), time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{command!r} still running after {timeout} s:\n{output}")
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the command and every child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            text = output.decode(errors="replace")
            if pending and re.search(pending[0][0], text):
                os.write(controller, pending.pop(0)[1].encode() + b"\n")
                output += b"\n"  # what a terminal shows after an answer (echo off)
    finally:
        os.close(controller)
    returncode = process.wait(timeout=timeout)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    return returncode, COLOURS.sub("", text)


@pytest.fixture(scope="session")
def states(tmp_path_factory) -> dict[str, Path]:
    """Trees to copy from: "migrated" (`manage.py migrate` on an empty database) and
    "after make run" (its migrations and the 2011 review loaded)."""
    root = tmp_path_factory.mktemp("readme")
    home = root / "home"
    home.mkdir()
    migrated = root / "migrated"
    shutil.copytree(BASE_DIR, migrated, ignore=_left_out)
    (migrated / ".venv").symlink_to(Path(sys.prefix))
    for state, command in [
        (migrated, ".venv/bin/python manage.py migrate --noinput"),
        (root / "after make run", ".venv/bin/python manage.py load_review_2011"),
    ]:
        if not state.exists():
            shutil.copytree(migrated, state, symlinks=True)
        returncode, output = run(command, state, environment(home))
        assert returncode == 0, output
        # Loading the review moves money: the in-process funding check runs, quietly.
        assert "Warning" not in output and "No hostname" not in output, output
    return {"migrated": migrated, "after make run": root / "after make run", "home": home}


@pytest.fixture
def fresh_copy(states, tmp_path):
    """fresh_copy(state="after make run"): a copy of that tree of one's own."""

    def make(state: str = "after make run") -> Path:
        copy = tmp_path / "seetf"
        shutil.copytree(states[state], copy, symlinks=True)
        return copy

    return make


def empty_env(states) -> dict[str, str]:
    return environment(states["home"])


def users_in(tree: Path) -> dict[str, bool]:
    """username -> whether the password is usable, read from the copy's database."""
    with sqlite3.connect(tree / "db.sqlite3") as db:
        rows = db.execute("SELECT username, password FROM auth_user").fetchall()
    return {username: not password.startswith("!") for username, password in rows}


# --- The tests --------------------------------------------------------------------------------


def test_the_readme_shows_the_commands_a_newcomer_needs():
    assert EXPECTED <= {command_name(command) for command in readme_commands()}


@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_works_as_written_with_no_environment(command, fresh_copy, states):
    name = command_name(command)
    tree = fresh_copy(STARTS_FROM.get(name, "after make run"))
    returncode, output = run(command, tree, empty_env(states), ANSWERS.get(name, ()))
    assert returncode == 0, f"{command}\n{output}"
    for trouble in ["Traceback", "Warning", "ImproperlyConfigured"]:
        assert trouble not in output, f"{command}\n{output}"


@pytest.mark.parametrize(("command", "shown"), readme_transcripts())
def test_a_readme_transcript_is_what_the_command_prints(command, shown, fresh_copy, states):
    tree = fresh_copy()
    before = users_in(tree)
    returncode, output = run(command, tree, empty_env(states))
    assert output.splitlines() == shown
    assert returncode == 1 if "CommandError" in output else returncode == 0
    assert users_in(tree) == before


def test_a_new_user_with_no_terminal_and_no_password_is_refused(fresh_copy, states):
    """A script or a pipe: exit status 1, a clear message, nothing created; no
    GetPassWarning, and the piped text is never taken for the password."""
    tree = fresh_copy()
    result = subprocess.run(
        [
            ".venv/bin/python",
            "manage.py",
            "create_seetf_user",
            "alice",
            "--role",
            "donor",
            "--partner",
            "DNK",
        ],
        cwd=tree,
        env=empty_env(states),
        input="piped-password-123\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "CommandError: alice is a new user and needs a password: give --password, or run "
        "this in a terminal without --no-input to type it. Nothing was changed.\n"
    )
    assert "alice" not in users_in(tree)


def test_the_console_says_each_thing_once(fresh_copy, states):
    """run_jobs' four lines, and one line per refused request (a 403 and a 404 in demo
    mode), each once, on the local settings' console; the 404 is the site's page."""
    tree = fresh_copy()
    returncode, output = run(
        ".venv/bin/python manage.py run_jobs --date 2026-06-01", tree, empty_env(states)
    )
    assert returncode == 0, output
    assert output.splitlines() == [
        "Reminders as of 2026-06-01: 0 new, 0 sent.",
        "Fund check: raised none, resolved none, 0 e-mailed.",
        "Notification e-mails: 0 sent.",
        "Daily digests as of 2026-06-01: 0 notifications sent.",
    ]

    requests = (
        "import django; django.setup(); from django.test import Client; "
        "from partners.services import user_create_or_update; "
        "user = user_create_or_update(username='lena', roles=['task_team_leader'], "
        f"password={PASSWORD!r}); "
        "web = Client(SERVER_NAME='127.0.0.1'); web.force_login(user); "
        "forbidden = web.get('/contributions/new/'); missing = web.get('/no/such/page/'); "
        "print(forbidden.status_code, missing.status_code, "
        "'Page not found' in missing.content.decode(), 'URLconf' in missing.content.decode())"
    )
    result = subprocess.run(
        [".venv/bin/python", "-c", requests],
        cwd=tree,
        env={**empty_env(states), "DJANGO_SETTINGS_MODULE": "seetf.settings.local"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["403", "404", "True", "False"]
    # django-axes logs the test's login itself (AXES: ...): not a request's.
    logged = [line for line in result.stderr.splitlines() if not line.startswith("AXES: ")]
    assert logged == [
        "Forbidden (Permission denied): /contributions/new/",
        "Not Found: /no/such/page/",
    ]


def test_the_e_mails_link_to_the_port_the_site_is_served_on(fresh_copy, states):
    """`make run PORT=8101` exports PORT (tests/test_settings.py): a funding alert e-mailed
    on the console then links to port 8101."""
    tree = fresh_copy()
    env = {**empty_env(states), "PORT": "8101", "FUNDING_ALERT_THRESHOLD_USD": "100000000.00"}
    returncode, output = run(
        ".venv/bin/python manage.py create_seetf_user fay --role fund_manager "
        f"--email fay@example.org --password {PASSWORD}",
        tree,
        env,
    )
    assert returncode == 0, output
    returncode, output = run(".venv/bin/python manage.py run_jobs", tree, env)
    assert returncode == 0, output
    assert "To: fay@example.org" in output
    assert "http://127.0.0.1:8101/" in output
    assert "http://127.0.0.1:8000" not in output
