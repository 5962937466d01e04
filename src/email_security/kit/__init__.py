"""Domain-free infrastructure: storage, request reading, the envelope, errors, OpenAPI."""
