"""Every repository path README.md and docs/*.md name exists (a glob matches something, a
`file.py::test` names a test of that file), and none points outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drivers.docblocks import ROOT, broken_anchors, documents, missing_path, paths_named


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(document: Path) -> None:
    problems = [
        f"{document.name}:{line}: {name}: {why}"
        for line, name in paths_named(document)
        if (why := missing_path(document, name)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_is_wrong(tmp_path: Path) -> None:
    """A path outside the repository, a missing file, a missing test and a glob that matches
    nothing are each named; a good folder, file, test and glob are not."""
    doc = tmp_path / "docs" / "x.md"
    doc.parent.mkdir()
    (tmp_path / "fixtures" / "states").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_one():\n    pass\n")
    doc.write_text(
        "[up](../../elsewhere.md) `fixtures/states/` `tests/test_a.py::test_one` "
        "`tests/test_a.py::test_two` `tests/test_*.py` `fixtures/none.json` `docs/*.yaml` "
        "`clevertap/upload` `/1/upload`\n"
    )
    found = {name: missing_path(doc, name, tmp_path) for _, name in paths_named(doc)}
    assert found == {
        "../../elsewhere.md": "outside the repository",
        "fixtures/states/": None,
        "tests/test_a.py::test_one": None,
        "tests/test_a.py::test_two": "has no test test_two",
        "tests/test_*.py": None,
        "fixtures/none.json": "does not exist",
        "docs/*.yaml": "no match",
    }


def test_the_readme_names_the_fixtures_it_ships() -> None:
    """The check reads the README's paths (a parser change that found none would pass)."""
    names = {name for _, name in paths_named(ROOT / "README.md")}
    assert {"fixtures/scenarios/", "docs/scenarios.md"} <= names, sorted(names)


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_a_document_links_to_exists(document: Path) -> None:
    """Sections moved between README.md and docs/ leave no link to a heading that is gone."""
    assert not broken_anchors(document), broken_anchors(document)


def test_a_link_to_a_heading_that_is_gone_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text("# Top\n\n## Web inspector\n\n[a](#web-inspector) [b](#control-api)\n")
    assert broken_anchors(doc) == ["README.md:5: #control-api"]
