"""The rename: package, settings prefix, titles and paths; attribution kept; the hyphenated console script.

The source here is a made-up ``acme`` (and ``road_runner`` for a two-word one), so these tests read the same
in a generated project, where this file is renamed too.
"""

from __future__ import annotations

from tripcast.generator.options import ProjectOptions
from tripcast.generator.rename import Renamer, camel_of, title_of
from tripcast.levels import Level

OPTIONS = ProjectOptions("my-ml-project", Level.BEGINNER)


def renamer(source: str = "acme") -> Renamer:
    return Renamer(source, OPTIONS)


def test_code_imports_settings_prefix_and_compound_names_are_renamed():
    source = (
        "from acme.core import x\n"
        "HOME = os.environ['ACME_HOME']\n"
        "class AcmeError(Exception): ...\n"
        "class Acme:\n"
        "DAG_ID = 'acme_monthly'\n"
        "PATTERN = r'\\bacme(?:\\.[a-z_]+)+'\n"
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
    text = "Acme's API: run `acme serve`. Alert AcmeModelDecay.\n"
    assert renamer().text(text, prose=True) == (
        "My Ml Project's API: run `my_ml_project serve`. Alert MyMlProjectModelDecay.\n"
    )


def test_a_two_word_source_renames_its_title_and_identifier_forms():
    text = "Road Runner's `road_runner` (ROAD_RUNNER_HOME): class RoadRunnerError, class RoadRunner\n"
    assert renamer("road_runner").text(text, prose=True) == (
        "My Ml Project's `my_ml_project` (MY_ML_PROJECT_HOME): class MyMlProjectError, class My Ml Project\n"
    )
    assert renamer("road_runner").text("class RoadRunner:\n") == "class MyMlProject:\n"


def test_attribution_keeps_the_word_but_not_a_lookalike():
    # (an attribution line is kept whole in a generated project too: only the calls on it name the source)
    assert renamer("tripcast").text("Generated from Tripcast (issue 17).\n") == "Generated from Tripcast (issue 17).\n"
    assert "Tripcast" not in renamer("tripcast").text("types generated from Tripcast's OpenAPI spec\n", prose=True)


def test_words_that_merely_contain_the_name_are_left_alone():
    assert renamer().text("acmeish Acmes\n") == "acmeish Acmes\n"


def test_paths_are_renamed():
    assert renamer().path("src/acme/cli/app.py") == "src/my_ml_project/cli/app.py"
    assert renamer().path("observability/rules/acme-slo.rules.yml") == "observability/rules/my_ml_project-slo.rules.yml"


def test_pyproject_gets_the_distribution_name_and_both_console_scripts():
    pyproject = b'[project]\nname = "acme"\n\n[project.scripts]\nacme = "acme.cli.app:main"\n'
    out = renamer().content("pyproject.toml", pyproject).decode()
    assert 'name = "my-ml-project"' in out
    assert 'my_ml_project = "my_ml_project.cli.app:main"' in out
    assert 'my-ml-project = "my_ml_project.cli.app:main"' in out


def test_a_generated_project_cut_again_replaces_its_own_hyphenated_script():
    # The source is a generated project: its distribution is hyphenated and has its own second script.
    pyproject = (
        b'[project]\nname = "my-ml-project"\n\n[project.scripts]\n'
        b'my_ml_project = "my_ml_project.cli.app:main"\nmy-ml-project = "my_ml_project.cli.app:main"\n'
    )
    for target in ("my-ml-project", "other-proj"):
        options = ProjectOptions(target, Level.BEGINNER)
        out = Renamer("my_ml_project", options).content("pyproject.toml", pyproject).decode()
        module = options.import_name
        assert out == (
            f'[project]\nname = "{target}"\n\n[project.scripts]\n'
            f'{module} = "{module}.cli.app:main"\n{target} = "{module}.cli.app:main"\n'
        )


def test_an_unhyphenated_name_has_one_console_script():
    out = Renamer("acme", ProjectOptions("taxi", Level.BEGINNER)).content(
        "pyproject.toml", b'name = "acme"\nacme = "acme.cli.app:main"\n'
    )
    assert out == b'name = "taxi"\ntaxi = "taxi.cli.app:main"\n'


def test_binary_content_is_unchanged():
    assert renamer().content("a.png", b"\xff\xfeacme") == b"\xff\xfeacme"


def test_title_and_identifier_forms():
    assert title_of("my-ml-project") == "My Ml Project"
    assert title_of("acme") == "Acme"
    assert camel_of("my_ml_project") == "MyMlProject"
