"""Faithfulness: claims checked against the sources by a heuristic or an LLM judge."""
