"""`pip install .` (not editable) gives a working forum: the wheel carries templates/, static/
and migrations/, and the installed copy serves pages from a directory that is not a checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.smtp import free_port

REPO = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "instance", "*.db", "*.db-*"
)


def _run(*command: str | Path, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _installed_venv(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the tree (as a fresh clone would) and install it."""
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path, ".", cwd=source)
    wheel = next(tmp_path.glob("kindred-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "pip", "install", "-q", wheel, cwd=tmp_path)
    shutil.rmtree(source)  # nothing may come from the tree the wheel was built from
    return venv


def _get(url: str, attempts: int = 60) -> tuple[int, bytes]:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read()
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} never answered")


@pytest.mark.slow
def test_an_installed_wheel_migrates_and_serves_pages(tmp_path):
    venv = _installed_venv(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{site / 'kindred.db'}",
        "INSTANCE_PATH": str(site / "instance"),
        "SECRET_KEY": "wheel-test-key",
    }
    env.pop("PYTHONPATH", None)
    flask = venv / "bin" / "flask"
    _run(flask, "--app", "forum", "db", "upgrade", cwd=site, env=env)
    _run(flask, "--app", "forum", "forum", "demo", cwd=site, env=env)
    where = _run(venv / "bin" / "python", "-c", "import forum; print(forum.__file__)", cwd=site)
    assert Path(where.strip()).is_relative_to(venv)

    port = free_port()
    server = subprocess.Popen(
        [venv / "bin" / "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "forum:create_app()"],
        cwd=site, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        status, home = _get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"Kindred" in home
        stylesheet = re.search(rb'href="(/static/[^"?]+\.css)', home)
        assert stylesheet, "the home page links no stylesheet"
        status, css = _get(f"http://127.0.0.1:{port}{stylesheet.group(1).decode()}")
        assert status == 200 and css
    finally:
        server.terminate()
        server.wait(timeout=10)
