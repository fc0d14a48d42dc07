"""Command-line entry point (a driving adapter): ``tripcast --help``."""
