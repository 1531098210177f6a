"""Build hook: the wheel carries templates/, static/ and migrations/ inside the forum package.

The repository keeps them at the top level (beside forum/), where designers and Alembic expect
them; setuptools can only ship files that sit inside a package, so build_py copies the three
folders into forum/ in the build tree. create_app() looks for them inside the installed package
first and beside it (a checkout, or an editable install) second. Everything else is in
pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSET_FOLDERS = ("templates", "static", "migrations")
ROOT = Path(__file__).resolve().parent


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        for name in ASSET_FOLDERS:
            shutil.copytree(
                ROOT / name,
                Path(self.build_lib) / "forum" / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildPyWithAssets})
