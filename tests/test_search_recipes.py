"""Every recipe of docs/search.md runs as written (paths under runs/ go to a temporary directory)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hundredx.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "search.md").read_text()


def _recipes() -> list[list[str]]:
    """The command lines of each `<!-- recipe -->` block (continuation lines joined)."""
    out = []
    for block in re.findall(r"<!-- recipe -->\n```bash\n(.*?)```", DOC, flags=re.S):
        text = block.replace("\\\n", " ")
        out.append([line.strip() for line in text.splitlines() if line.strip()])
    return out


def test_the_doc_has_three_recipes():
    assert len(_recipes()) == 3


@pytest.mark.parametrize("index", range(3), ids=["model-axis", "chip-axis", "deployment-axis"])
def test_recipe_runs(index, tmp_path):
    runner = CliRunner()
    for line in _recipes()[index]:
        args = shlex.split(line.replace("runs/", f"{tmp_path}/").replace("examples/", f"{ROOT}/examples/"))
        assert args[0] == "hundredx"
        result = runner.invoke(app, [*args[1:], "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        if args[1:3] == ["search", "query"]:
            assert data["rows"] and all(r["best"] is None or r["best"] > 0 for r in data["rows"])
        else:
            assert data["feasible"] > 0 and data["top"][0]["command"].startswith("hundredx predict")
            if "--emit" in args:
                assert (Path(args[args.index("--emit") + 2]) / "launch.sh").is_file()
