"""Integration tests: the real pieces together (embedder, Chroma in a tmp dir, a local OpenAI-compatible server)."""
