"""The shared vocabulary every layer speaks: types, protocols, errors, settings and text rules.

Imports nothing first-party outside rag.core, so any module may depend on it.
"""
