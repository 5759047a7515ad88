"""``python -m fedgen_registry`` is the ``fedgen`` command."""

from fedgen_registry.cli import main

main()
