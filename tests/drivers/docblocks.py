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
import functools
import re
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


# Top-level entries of the repository a Markdown path may start with.
TOP = ("emulator/", "contracts/", "fixtures/", "docs/", "tests/", "bench/", ".ci/")
FILE_TYPES = (".md", ".py", ".json", ".toml", ".yaml", ".yml", ".mjs", ".html", ".png", ".txt")


def _is_path(text: str) -> bool:
    """Inline code that names a repository path: from a top-level folder, to a folder (`/`),
    a file by its type, or a test (`file.py::test`); `clevertap/upload` (a contract's name) and
    `/1/upload` (an API path) are not."""
    if not text.startswith(TOP):
        return False
    return text.endswith("/") or text.split("::")[0].endswith(FILE_TYPES)


def paths_named(path: Path) -> list[tuple[int, str]]:
    """(line, path) of every repository path a Markdown file names: relative link targets and
    inline code that `_is_path`."""
    found: list[tuple[int, str]] = []
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        if token.type != "inline" or token.map is None or not token.children:
            continue
        for child in token.children:
            if child.type == "link_open":
                target = str(child.attrs.get("href", "")).split("#")[0]
                if target and "://" not in target and not target.startswith("mailto:"):
                    found.append((token.map[0] + 1, target))
            elif child.type == "code_inline":
                words = child.content.split()
                if words and _is_path(words[0]):
                    found.append((token.map[0] + 1, words[0]))
    return found


def missing_path(document: Path, name: str, root: Path = ROOT) -> str | None:
    """Why `name` (as `document` names it) is not a path of the repository at `root`, or None:
    outside the repository, nothing there (nothing a glob matches), or no such test."""
    file, _, test = name.partition("::")
    base = document.parent if not file.startswith(TOP) else root
    target = (base / file).resolve()
    if not target.is_relative_to(root.resolve()):
        return "outside the repository"
    if "*" in file:
        return None if list(root.glob(str(target.relative_to(root.resolve())))) else "no match"
    if not target.exists():
        return "does not exist"
    if test and f"def {test.split('[')[0]}(" not in target.read_text(encoding="utf-8"):
        return f"has no test {test}"
    return None


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    """The anchors of a Markdown file's headings (read once per run)."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    return frozenset(
        _slug("".join(c.content for c in tokens[i + 1].children or [] if c.type != "softbreak"))
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    )


def broken_anchors(path: Path) -> list[str]:
    """Links of `path` to `#anchor` (in itself or another Markdown file) that no heading has."""
    broken = []
    for line, target in _links(path):
        file, hash_, anchor = target.partition("#")
        if not hash_ or not anchor or (file and not file.endswith(".md")):
            continue
        document = (path.parent / file).resolve() if file else path
        if not document.is_file() or anchor not in anchors_of(document):
            broken.append(f"{path.name}:{line}: {target}")
    return broken


def _links(path: Path) -> list[tuple[int, str]]:
    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        for child in token.children or []:
            href = str(child.attrs.get("href", "")) if child.type == "link_open" else ""
            if href and "://" not in href and token.map is not None:
                found.append((token.map[0] + 1, href))
    return found
