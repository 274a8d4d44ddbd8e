"""Hybrid retrieval (dense + BM25, fused) over the chunk index, and its LangChain retriever."""
