"""Code blocks line by line, for the PDF only: each source line of a block becomes a block of
its own (`<span class="pubkit-code-line">`), so that a line the column is too narrow for wraps
under a continuation mark the theme draws in its margin (print.css), and the first and last
three lines of a long block stay together when it breaks across pages.

The mark is a background image, not text: copying a wrapped line from the PDF gives the line as
it was written. A block holding markup of its own (pasted HTML with <b> in a <pre>) is left as
it is. The EPUB keeps its code as written: a reader reflows it.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PRE = re.compile(r"<pre[\s>]")
LINE_CLASS = "pubkit-code-line"


@lru_cache(maxsize=16)  # as fit.py's: once per fragment, not per layout pass
def code_lines(fragment: str) -> str:
    """The fragment with every plain code block's lines as blocks (see the module's docstring)."""
    if not _PRE.search(fragment):
        return fragment
    from lxml import etree

    from ..rendering.markup import parse_fragment, serialize_children

    root = parse_fragment(fragment)
    for pre in list(root.iter("pre")):
        holder = pre
        if len(pre) == 1 and pre[0].tag == "code" and not (pre.text or "").strip():
            if (pre[0].tail or "").strip():
                continue
            holder = pre[0]
        if len(holder):  # markup inside the code: left as written
            continue
        lines = (holder.text or "").split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the block's last line
        holder.text = None
        for line in lines:
            etree.SubElement(holder, "span", {"class": LINE_CLASS}).text = line
    return serialize_children(root)
