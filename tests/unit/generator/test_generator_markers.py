"""Level markers (the generator contract): Python statements, text blocks and lines, folder conditions."""

from __future__ import annotations

import pytest

from tripcast.generator.markers import Cut, MarkerError, resolve, resolve_python, resolve_text
from tripcast.levels import Level


def cut(level: Level, *folders: str) -> Cut:
    return Cut(level, frozenset(folders))


PYTHON = '''\
import os
from a import b  # level: advanced


@decorator  # level: expert
@other
def expert_only():
    return 1


@decorator
def expert_by_def_line():  # level: expert
    return 2


class Kept:
    x = 1  # level: intermediate

    def method(self):
        if os.name:
            y = 2  # level: expert
            return y  # level: expert
        return 3

    def nested(self):
        def inner():  # level: intermediate
            return {
                "a": 1,
            }
        return None


text = """
# level: expert  (inside a string: not a marker)
"""
'''


def test_python_below_the_marker_removes_whole_statements_with_decorators_and_bodies():
    out = resolve_python(PYTHON, cut(Level.BEGINNER), "m.py")
    assert "from a import b" not in out
    assert "expert_only" not in out and "@other" not in out and "return 1" not in out
    assert "expert_by_def_line" not in out and "@decorator\n" not in out
    assert "x = 1" not in out
    assert "def inner" not in out and '"a": 1' not in out
    assert "# level: expert  (inside a string: not a marker)" in out  # strings are not comments
    compile(out, "m.py", "exec")


def test_an_emptied_body_becomes_pass_at_its_indentation():
    out = resolve_python(PYTHON, cut(Level.INTERMEDIATE), "m.py")
    assert "            pass\n        return 3" in out
    assert "    x = 1  # level: intermediate" in out  # kept: marker comments stay in Python
    compile(out, "m.py", "exec")


def test_python_at_or_above_the_marker_level_is_unchanged():
    assert resolve_python(PYTHON, cut(Level.EXPERT), "m.py") == PYTHON


def test_python_folder_marker_keeps_a_statement_only_with_its_folder():
    source = "x = 1\ny = 2  # folder: frontend\n"
    assert resolve_python(source, cut(Level.EXPERT), "m.py") == "x = 1\n"
    assert resolve_python(source, cut(Level.BEGINNER, "frontend"), "m.py") == source


def test_an_elif_removed_whole_leaves_no_pass():
    source = "if a:\n    x = 1\nelif b:  # level: expert\n    x = 2\n"
    out = resolve_python(source, cut(Level.BEGINNER), "m.py")
    assert out == "if a:\n    x = 1\n"


MAKEFILE = """\
all: test
# level>=advanced
bench:
\tpython bench.py
# level-end
test: setup lint frontend  # folder: frontend
test: setup lint
\tpytest  # level: intermediate
<!-- level>=expert -->
expert prose
<!-- level-end -->
done <!-- level: advanced -->
"""


def test_text_blocks_and_lines_drop_below_their_level():
    out = resolve_text(MAKEFILE, cut(Level.BEGINNER), "Makefile")
    assert out == "all: test\ntest: setup lint\n"


def test_text_kept_lines_and_blocks_keep_their_markers():
    out = resolve_text(MAKEFILE, cut(Level.EXPERT, "frontend"), "Makefile")
    assert out == MAKEFILE  # everything kept: unchanged, so a generated project can be cut again


def test_a_cut_of_a_cut_equals_the_cut_of_the_source():
    for first in Level:
        for folders in ((), ("frontend",)):
            once = resolve_text(MAKEFILE, cut(first, *folders), "Makefile")
            for second in (level for level in Level if level <= first):
                again = resolve_text(once, cut(second, *folders), "Makefile")
                assert again == resolve_text(MAKEFILE, cut(second, *folders), "Makefile"), (first, second)


WRAPPED = """\
def build():
    split, runner = experiment_split(
        settings, registry
    )  # level: expert

    @decorator(
        argument
    )  # level: expert
    def handler():
        return 1

    def long_header(
        one, two
    ):  # level: advanced
        return 2

    if (
        a and b
    ):  # level: expert
        pass
    return 3
"""


def test_a_marker_a_formatter_moved_to_the_end_of_a_wrapped_header_still_marks_its_statement():
    out = resolve_python(WRAPPED, cut(Level.INTERMEDIATE), "m.py")
    assert [line for line in out.splitlines() if line.strip()] == ["def build():", "    return 3"]
    kept = resolve_python(WRAPPED, cut(Level.ADVANCED), "m.py")
    assert "def long_header(" in kept and "experiment_split" not in kept and "a and b" not in kept
    compile(kept, "m.py", "exec")


@pytest.mark.parametrize(
    "source",
    [
        "x = [\n    1,  # level: expert\n    2,\n]\n",  # inside a statement, on neither end of it
        "# level: expert\nx = 1\n",  # a comment line of its own
        "try:\n    x = 1\nexcept OSError:  # level: expert\n    x = 2\n",  # a handler is not a statement
    ],
)
def test_a_python_marker_that_marks_no_statement_is_an_error(source):
    with pytest.raises(MarkerError, match=r"m\.py:\d+: this marker marks no statement"):
        resolve_python(source, cut(Level.BEGINNER), "m.py")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# level>=advanced\nx\n", "not closed"),
        ("# level-end\n", "without a block"),
        ("# level>=advanced\n# level>=expert\n# level-end\n", "inside the block"),
        ("x  # level: guru\n", "unknown level 'guru'"),
    ],
)
def test_malformed_markers_name_the_file_and_line(text, message):
    with pytest.raises(MarkerError, match=message) as error:
        resolve_text(text, cut(Level.BEGINNER), "DOCS/x.md")
    assert "DOCS/x.md:" in str(error.value)


def test_resolve_leaves_binary_and_unknown_files_alone():
    binary = b"\x89PNG\r\n# level: expert\n"
    assert resolve("DOCS/img/a.png", binary, cut(Level.BEGINNER)) == binary
    assert resolve("frontend/a.ts", b"x // level: expert\n", cut(Level.BEGINNER)) == b"x // level: expert\n"
    assert resolve(".ci/run", b"make test  # level: expert\n", cut(Level.BEGINNER)) == b""


def test_source_only_markers_drop_at_every_level_even_expert():
    text = "a\nb  # level: source\n# level>=source\nc\n# level-end\nd\n"
    cut = Cut(Level.EXPERT, frozenset({"src", "tests"}))
    assert resolve_text(text, cut, "Makefile") == "a\nd\n"


def test_the_generator_harness_never_reaches_a_generated_project():
    from pathlib import Path

    from tripcast.generator.options import ProjectOptions
    from tripcast.generator.render import render_project

    rendered = render_project(Path(__file__).resolve().parents[3], ProjectOptions("my-ml-project", Level.EXPERT))
    assert not [path for path in rendered if path.startswith("tests/generator/")]
    assert "test-generator" not in rendered["Makefile"].decode() + rendered[".ci/run"].decode()
    assert "tests/unit/generator/test_generator_markers.py" in rendered  # the generator's own tests stay
