"""The ``fedgen`` command: a thin shell over the library (parse, call, print), one module per command group.

:mod:`.catalogue` (list, show, cite, validate, schema), :mod:`.run` (run, implementations), :mod:`.site`
(site build/serve/runs), :mod:`.compare` and :mod:`.reproduce`; :mod:`.shell` holds what they share (one-line errors and
their exit codes). Every command imports what it needs when it runs, so ``fedgen list`` does not pay
for torch, mkdocs or matplotlib.
"""

from __future__ import annotations

import click

from fedgen_registry.cli import catalogue, compare, reproduce, run, site
from fedgen_registry.cli.shell import State


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
@click.version_option(package_name="fedgen-registry", prog_name="fedgen")
def main(debug: bool) -> None:
    """fedgen: browse, query and run federated generative models.

    \b
    Examples:
      fedgen list --model-type diffusion --privacy client-level-dp
      fedgen list --strand attack --year 2022..2024 --format csv > attacks.csv
      fedgen show md-gan-2018
      fedgen cite md-gan-2018 gs-wgan-2020 >> refs.bib
      fedgen run md-gan-2018 --set rounds=3
      fedgen reproduce md-gan-2018
    """
    State.debug = debug


for command in (*catalogue.COMMANDS, *run.COMMANDS, *site.COMMANDS, *compare.COMMANDS, *reproduce.COMMANDS):
    main.add_command(command)
