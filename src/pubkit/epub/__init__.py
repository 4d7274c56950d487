"""EPUB 3: the package, its cover and its accessibility metadata."""
