"""PDF: the composed HTML laid out by WeasyPrint, both profiles (handout, press), glyph checks."""
