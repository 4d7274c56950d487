"""`python -m pubkit`: the same command as `pubkit`."""

from .cli import main

main(prog_name="pubkit")
