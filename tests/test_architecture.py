"""The import contracts of pyproject.toml ([tool.importlinter]): the apps depend one way
(partners <- grants <- results, seetf.common below them, the project and the benchmark
on top) and no two modules of a package import each other round a loop. Run here so
that `make test`, which CI runs, breaks when an import breaks them; `make lint` runs
the same `lint-imports`."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    # The lint-imports of the interpreter running the tests (the project's virtualenv);
    # no cache, so the graph is always the files as they are.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout
