"""The answer road: standalone question, retrieval, prompt, generation, citations, semantic cache."""
