"""`python -m ui ...` is the `docqa` command (useful before the console script is installed)."""

from ui.cli import main

if __name__ == "__main__":
    main()
