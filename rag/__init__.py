"""docqa: ask your documents, with cited sources and a faithfulness score.

Start at rag/app.py (the composition root) and rag/core/protocols.py (the seams between layers).
"""
