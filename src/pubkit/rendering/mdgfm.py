"""GitHub's extended autolinks (pymdownx.magiclink) kept out of attribute lists.

magiclink turns a bare `https://...`, `www....` or e-mail address into a link while the inline
patterns run, before attr_list reads the `{: ...}` after an element; an address inside one
(`{: data-src="https://..."}`) became a link there and the attribute list was left as text.
An address is taken as a link only when no `{` opens before it on its line (within the length
an attribute list can have) without a `}` to close it: the look back is bounded, so a
paragraph of thousands of addresses costs in proportion to its length.
"""

from __future__ import annotations

import markdown
from markdown.extensions import Extension

_PATTERNS = ("magic-link", "magic-mail")
LOOK_BACK = 1000  # characters: far longer than any attribute list


def in_open_braces(data: str, start: int) -> bool:
    """Whether a `{` opens before `start` on its line, with no `}` after it before `start`."""
    begin = max(0, start - LOOK_BACK, data.rfind("\n", max(0, start - LOOK_BACK), start) + 1)
    return data.rfind("{", begin, start) > data.rfind("}", begin, start)


class AddressesOutsideAttributeLists(Extension):
    """Must come after pymdownx.magiclink in the list of extensions."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        for name in _PATTERNS:
            if name in md.inlinePatterns:
                _guard(md.inlinePatterns[name])


def _guard(pattern) -> None:
    handle = pattern.handleMatch

    def handle_match(m, data):
        if in_open_braces(data, m.start(0)):
            return None, None, None
        return handle(m, data)

    pattern.handleMatch = handle_match
