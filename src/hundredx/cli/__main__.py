"""`python -m hundredx.cli ...`: the same command as the `hundredx` entry point (works uninstalled with
PYTHONPATH=src)."""

from hundredx.cli.app import main

if __name__ == "__main__":
    main()
