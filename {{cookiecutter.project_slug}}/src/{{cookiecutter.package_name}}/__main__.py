"""Lets `python -m {{ cookiecutter.package_name }}` run the command line."""

from .cli import main

raise SystemExit(main())
