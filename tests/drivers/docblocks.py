"""The fenced code blocks of the project's Markdown (README.md, docs/*.md), as the docs harness
(tests/docs/) runs them. markdown-it-py parses the files; this module only reads its tokens.

A block's info string is its language and then flags:

- `norun`: shown, never run (a synopsis, an excerpt, a shape, a command that installs or needs
  Docker); every other block must have a language the harness runs (`RUNNERS`);
- `output`: what the runnable block before it prints, compared with `doctest`'s checker
  (`...` stands for any text, runs of whitespace are equal);
- `pytest` (Python): a test module, run by pytest against the emulator.
"""

from __future__ import annotations

import doctest
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]

# language -> how the harness runs it (tests/drivers/docrun.py)
RUNNERS = {
    "sh": "shell",
    "bash": "shell",
    "shell": "shell",
    "python": "python",
    "js": "node",
    "html": "browser",
    "toml": "config",
}
FLAGS = {"norun", "output", "pytest"}


class BlockError(AssertionError):
    """A block that is neither runnable nor marked, or an output block with nothing to check."""


@dataclass
class Block:
    path: str  # relative to the repository
    line: int  # the opening fence's line, 1-based
    language: str
    flags: frozenset[str]
    source: str
    output: Block | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.language or 'plain'}"

    @property
    def runner(self) -> str | None:
        """How the harness runs it, or None for a `norun` or `output` block."""
        if self.flags & {"norun", "output"}:
            return None
        if self.language not in RUNNERS:
            raise BlockError(
                f"{self}: a ```{self.language} block is neither runnable "
                f"({', '.join(sorted(RUNNERS))}) nor marked: add `norun` or `output` after "
                "the language on the fence line"
            )
        if "pytest" in self.flags:
            return "pytest"
        return RUNNERS[self.language]


def blocks_of(path: Path, root: Path = ROOT) -> list[Block]:
    """Every fenced block of one Markdown file, each `output` block attached to the block it
    follows."""
    text = path.read_text(encoding="utf-8")
    found: list[Block] = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type != "fence" or token.map is None:
            continue
        language, *flags = token.info.split() or [""]
        unknown = set(flags) - FLAGS
        block = Block(
            path=str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
            line=token.map[0] + 1,
            language=language if language else "",
            flags=frozenset(flags),
            source=token.content,
        )
        if unknown:
            raise BlockError(f"{block}: unknown flags {sorted(unknown)} (known: {sorted(FLAGS)})")
        if "output" in block.flags:
            if not found or found[-1].runner is None or found[-1].output is not None:
                raise BlockError(f"{block}: an `output` block must follow a runnable block")
            found[-1].output = block
        found.append(block)
    return found


def documents(root: Path = ROOT) -> list[Path]:
    """The Markdown whose blocks the harness runs: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def check_output(block: Block, printed: str) -> None:
    """What `block` printed matches its `output` block, if it has one (doctest's checker:
    ELLIPSIS, NORMALIZE_WHITESPACE); an AssertionError shows both."""
    if block.output is None:
        return
    want = block.output.source
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    checker = doctest.OutputChecker()
    if not checker.check_output(want, printed, flags):
        example = doctest.Example(source="", want=want)
        diff = checker.output_difference(example, printed, flags)
        raise AssertionError(f"{block} printed something else than {block.output}:\n{diff}")
