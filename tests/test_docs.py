"""Every ```python block of README.md and docs/*.md runs (docs/python-api.md is the Python guide).

The blocks of one file run in order in one namespace, because a guide builds on its earlier blocks
(docs/python-api.md uses `data`, `gan`... of the blocks before), in a temporary working folder of
their own, so whatever they write goes there. A failing block's traceback names the Markdown file
and line. A block whose fence has `<!-- not-run -->` as the last non-blank line before it is
skipped: keep that for a block that needs what a test cannot have (a finished run folder, a
download, a GPU).
"""

import dataclasses
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = "<!-- not-run -->"


@dataclasses.dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the block's first line of code in its file
    code: str
    runs: bool


def python_blocks(text):
    """The ```python blocks of a Markdown text, fences indented or not."""
    lines = text.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        fence = lines[index]
        if fence.strip() == "```python":
            indent = fence[: len(fence) - len(fence.lstrip())]
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            if end == len(lines):
                raise AssertionError(f"the ```python block at line {index + 1} is never closed")
            previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
            code = textwrap.dedent("\n".join(line.removeprefix(indent) for line in lines[index + 1 : end]))
            blocks.append(Block(index + 2, code + "\n", previous != NOT_RUN))
            index = end
        index += 1
    return blocks


def run_blocks(path, blocks):
    """Runs the blocks in order in one fresh namespace; a failure notes the block's file and line.

    Each block is compiled as `path` with its code at its own line, so tracebacks show the
    Markdown line that failed."""
    namespace = {"__name__": "__docs__"}
    for block in blocks:
        try:
            exec(compile("\n" * (block.line - 1) + block.code, str(path), "exec"), namespace)
        except BaseException as error:
            error.add_note(f"in the ```python block at {path}:{block.line}")
            raise


def documents():
    """README.md and docs/*.md, those with a ```python block to run."""
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in paths if any(block.runs for block in python_blocks(path.read_text()))]


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_blocks(path, [block for block in python_blocks(path.read_text()) if block.runs])


def test_the_guide_and_the_readme_are_tested():
    """The extraction finds the blocks it must: a renamed fence would otherwise pass by running nothing."""
    names = {str(path.relative_to(ROOT)) for path in documents()}
    assert {"README.md", "docs/python-api.md"} <= names
    assert len(python_blocks((ROOT / "docs" / "python-api.md").read_text())) >= 8


def test_a_broken_block_fails_naming_its_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nvalue = 1\n```\n\n"
        "<!-- not-run -->\n```python\nraise SystemExit('skipped')\n```\n\n"
        "- a list\n\n  ```python\n  value += 1\n  undefined_name\n  ```\n"
    )
    blocks = python_blocks(page.read_text())
    assert [(block.line, block.runs) for block in blocks] == [(4, True), (9, False), (15, True)]
    with pytest.raises(NameError) as failure:
        run_blocks(page, [block for block in blocks if block.runs])
    assert f"{page}:15" in failure.value.__notes__[0]
    assert failure.traceback[-1].lineno + 1 == 16  # pytest counts lines from 0
