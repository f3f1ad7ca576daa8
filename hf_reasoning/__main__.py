"""``python -m hf_reasoning``: the hf-reasoning command line."""

from .cli import main

main()
