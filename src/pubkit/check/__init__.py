"""Check: EPUBCheck, Ace, the stores' rules and the PDF checks on built outputs."""
