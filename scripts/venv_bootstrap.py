"""Runs a script with the repository's virtualenv python.

The scripts start under any `python3`; `ensure()` installs the PyPI tools they need into
`${VENV:-.venv}` through `ensure_python_tools` in scripts/lib.sh (the one place that knows
how), then re-executes the script with that virtualenv's python. Inside the virtualenv with
every module importable, it does nothing.
"""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MARK = "API_TOKENS_VENV_BOOTSTRAPPED"


def venv_dir():
    """The virtualenv directory: $VENV (relative to the repository root) or .venv."""
    venv = os.environ.get("VENV", ".venv")
    return venv if os.path.isabs(venv) else os.path.join(ROOT, venv)


def ensure(packages, modules):
    """Re-executes this script under the virtualenv's python with `packages` installed,
    unless it already runs there and every module of `modules` imports. A script that
    needs no package (scripts/iam-check: the standard library only) runs where it is."""
    venv = venv_dir()
    importable = all(importlib.util.find_spec(m) is not None for m in modules)
    if importable and (not packages or os.path.realpath(sys.prefix) == os.path.realpath(venv)):
        return
    if os.environ.get(_MARK):
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        sys.exit(f"{sys.argv[0]}: the virtualenv {venv} still lacks {', '.join(missing)}")
    setup = 'root="$1" && shift && cd "$root" && source scripts/lib.sh && ensure_python_tools "$@"'
    subprocess.run(["bash", "-c", setup, "bash", ROOT, *packages], check=True,
                   env={**os.environ, "VENV": venv})
    os.environ[_MARK] = "1"
    python = os.path.join(venv, "bin", "python")
    os.execv(python, [python, os.path.abspath(sys.argv[0]), *sys.argv[1:]])
