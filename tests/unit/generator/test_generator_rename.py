"""The rename: package, settings prefix, titles and paths; attribution kept; the hyphenated console script."""

from __future__ import annotations

from tripcast.generator.options import ProjectOptions
from tripcast.generator.rename import Renamer, camel_of, title_of
from tripcast.levels import Level

OPTIONS = ProjectOptions("my-ml-project", Level.BEGINNER)


def renamer() -> Renamer:
    return Renamer("tripcast", OPTIONS)


def test_code_imports_settings_prefix_and_compound_names_are_renamed():
    source = (
        "from tripcast.core import x\n"
        "HOME = os.environ['TRIPCAST_HOME']\n"
        "class TripcastError(Exception): ...\n"
        "class Tripcast:\n"
        "DAG_ID = 'tripcast_monthly'\n"
        "PATTERN = r'\\btripcast(?:\\.[a-z_]+)+'\n"
    )
    assert renamer().text(source) == (
        "from my_ml_project.core import x\n"
        "HOME = os.environ['MY_ML_PROJECT_HOME']\n"
        "class MyMlProjectError(Exception): ...\n"
        "class MyMlProject:\n"
        "DAG_ID = 'my_ml_project_monthly'\n"
        "PATTERN = r'\\bmy_ml_project(?:\\.[a-z_]+)+'\n"
    )


def test_prose_gets_the_title_and_commands_the_import_name():
    text = "Tripcast's API: run `tripcast serve`. Alert TripcastModelDecay.\n"
    assert renamer().text(text, prose=True) == (
        "My Ml Project's API: run `my_ml_project serve`. Alert MyMlProjectModelDecay.\n"
    )


def test_attribution_keeps_the_word_but_not_a_lookalike():
    assert renamer().text("Generated from Tripcast (issue 17).\n") == "Generated from Tripcast (issue 17).\n"
    assert "Tripcast" not in renamer().text("types generated from Tripcast's OpenAPI spec\n", prose=True)


def test_words_that_merely_contain_the_name_are_left_alone():
    assert renamer().text("tripcastle Tripcaster\n") == "tripcastle Tripcaster\n"


def test_paths_are_renamed():
    assert renamer().path("src/tripcast/cli/app.py") == "src/my_ml_project/cli/app.py"
    assert (
        renamer().path("observability/rules/tripcast-slo.rules.yml")
        == "observability/rules/my_ml_project-slo.rules.yml"
    )


def test_pyproject_gets_the_distribution_name_and_both_console_scripts():
    pyproject = b'[project]\nname = "tripcast"\n\n[project.scripts]\ntripcast = "tripcast.cli.app:main"\n'
    out = renamer().content("pyproject.toml", pyproject).decode()
    assert 'name = "my-ml-project"' in out
    assert 'my_ml_project = "my_ml_project.cli.app:main"' in out
    assert 'my-ml-project = "my_ml_project.cli.app:main"' in out


def test_an_unhyphenated_name_has_one_console_script():
    out = Renamer("tripcast", ProjectOptions("taxi", Level.BEGINNER)).content(
        "pyproject.toml", b'name = "tripcast"\ntripcast = "tripcast.cli.app:main"\n'
    )
    assert out == b'name = "taxi"\ntaxi = "taxi.cli.app:main"\n'


def test_binary_content_is_unchanged():
    assert renamer().content("a.png", b"\xff\xfetripcast") == b"\xff\xfetripcast"


def test_title_and_identifier_forms():
    assert title_of("my-ml-project") == "My Ml Project"
    assert title_of("tripcast") == "Tripcast"
    assert camel_of("my_ml_project") == "MyMlProject"
