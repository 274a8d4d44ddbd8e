"""Safety filters around the answer road: prompt-injection flags, jailbreak refusals, redaction."""
