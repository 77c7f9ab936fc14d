import sys

from specbench.cli import main

# vLLM starts its engine in a spawned process that re-imports __main__: the guard keeps it from
# re-running the CLI.
if __name__ == "__main__":
    sys.exit(main())
