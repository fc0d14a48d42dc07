"""Under CI=true a missing prerequisite fails the build: tests/conftest.py turns every kind of skip into a
failure (a skip inside a test or a fixture, ``pytest.importorskip``, a module skipped while collected)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).resolve().parents[1] / "conftest.py").read_text(encoding="utf-8")

HEADER = "import pytest\n\n"
SKIPPING_TESTS = {
    "test_in_test": HEADER + "def test_it():\n    pytest.skip('no promtool')\n",
    "test_importorskip": HEADER + "def test_it():\n    pytest.importorskip('no_such_module_xyz')\n",
    "test_module_level": HEADER + "pytest.importorskip('no_such_module_xyz')\n\ndef test_it():\n    pass\n",
    "test_allow_module_level": HEADER + "pytest.skip('no pyspark', allow_module_level=True)\n\ndef test_it(): pass\n",
    "test_marker": HEADER + "@pytest.mark.skipif(True, reason='no evidently')\ndef test_it():\n    pass\n",
}
XFAIL_TEST = HEADER + "@pytest.mark.xfail(reason='known')\ndef test_it():\n    assert False\n"
#: A module skipped while collected is a collection error under CI, which stops a run; see them all here.
RUN_ARGS = ("-p", "no:cacheprovider", "--continue-on-collection-errors")


@pytest.fixture()
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # The repository's conftest, minus its autouse MLflow fixture (a plain pytester project has no tripcast).
    pytester.makeconftest(CONFTEST.split("@pytest.fixture(autouse=True)")[0])
    pytester.makepyfile(**SKIPPING_TESTS, test_xfail=XFAIL_TEST)
    return pytester


def test_every_kind_of_skip_fails_under_ci(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "true")
    result = project.runpytest(*RUN_ARGS)
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) == 0, result.stdout.str()
    # skips in a test's call fail it; in its setup (skipif, fixtures) or while collected they are errors
    assert (outcomes.get("failed"), outcomes.get("errors")) == (2, 3), result.stdout.str()
    assert outcomes.get("xfailed") == 1
    assert "skipped under CI=true" in result.stdout.str()


def test_skips_stay_skips_outside_ci(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CI", raising=False)
    result = project.runpytest(*RUN_ARGS)
    result.assert_outcomes(skipped=len(SKIPPING_TESTS), xfailed=1)
