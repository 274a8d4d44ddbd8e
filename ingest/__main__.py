"""`python -m ingest PATH...`: the batch ingest script (same as `docqa ingest`)."""

import sys

from ui.cli import main

if __name__ == "__main__":
    main(["ingest", *sys.argv[1:]])
