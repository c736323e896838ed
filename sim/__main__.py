"""`python -m sim` and the `fleetsim` console script. Nothing heavy is imported here, so an
interrupt while the layers below load is reported like any other: one line, exit 130."""
import sys


def entry() -> int:
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("interrupted: no results written", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(entry())
