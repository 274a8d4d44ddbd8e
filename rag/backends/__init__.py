"""Adapters: the only modules that import a backend library (Chroma, bm25s, ONNX Runtime, torch,
sentence-transformers, langchain-openai). Each implements a Protocol from rag.core.protocols.
"""
