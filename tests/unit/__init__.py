"""Unit tests: no model weights, no Chroma, no server, no browser (make test-fast)."""
