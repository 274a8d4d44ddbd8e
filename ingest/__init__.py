"""Ingestion: loaders (a registry keyed by file type), the loader sandbox, chunkers and the pipeline.

Depends on rag.core only; the composition root (rag/app.py) hands it a store, an embedder and chunkers.
"""
