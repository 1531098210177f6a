"""The README is the operator's manual: it must stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.S)


def test_ci_runs_the_readmes_test_command():
    test_command = next(block.strip() for block in shell_blocks() if "pytest" in block)
    ci_script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_script


def test_every_setting_is_documented():
    config = (ROOT / "forum" / "config.py").read_text() + (
        ROOT / "forum" / "__init__.py"
    ).read_text()
    names = set(re.findall(r'(?:environ\.get|_bool|_int)\(\s*"([A-Z_]+)"', config))
    assert len(names) > 10
    undocumented = sorted(name for name in names if f"| `{name}` |" not in README)
    assert undocumented == []


def test_every_cli_command_is_documented():
    cli = (ROOT / "forum" / "cli.py").read_text()
    commands = re.findall(r'@forum_cli\.command\("([a-z-]+)"\)', cli)
    assert commands
    for command in commands:
        assert f"`forum {command}" in README
