"""Load: a manuscript file becomes a validated, frozen Manuscript (front matter, body, dates)."""
