"""The knowledge base: entries, Vietnamese normalisation and matching."""
