"""End-to-end tests: the CLI as a subprocess, the web UI in a browser, servers, crashes, the built wheel."""
