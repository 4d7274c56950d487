"""Collections: many manuscripts as one book."""
