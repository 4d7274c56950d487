"""Inline Markdown as CommonMark (and GitHub) reads it, where Python-Markdown reads it otherwise.

- Reference labels: ``[`fs.access()`][]`` is a link when ``[`fs.access()`]: url`` is defined.
  Python-Markdown takes the code span out before it looks for references, so the label it
  looks up is a placeholder that no definition has. CommonMark matches labels as typed, case
  folded and with runs of white space as one space; here the code spans on both sides are
  compared as their text between single backticks (so ``` ``x`` ``` and `` `x` `` match, a
  little more than CommonMark matches) and a backslash escape as typed.
- Attribute lists: `{...}` is one only in the forms pubkit documents: `{: ...}` with a colon,
  or a list of `#id`, `.class` and `key=value` (`{#fig-plate}`, `{.lead}`, `{width=300}`).
  A bare word, as in `` `maxSessionMemory`{number} `` (a type in an API reference), stays text,
  as GitHub shows it; Python-Markdown's attr_list took it for a valueless attribute, deleted
  the braces and left only a warning about a removed attribute.

Each fix is installed on one `markdown.Markdown` object; Python-Markdown's classes are left as
they are. Linear: a label is keyed once, the definitions once per document.
"""

from __future__ import annotations

import html
import re
import types

import markdown
from markdown.extensions.attr_list import AttrListTreeprocessor, get_attrs_and_remainder
from markdown.inlinepatterns import ReferenceInlineProcessor

from .codemask import code_spans

_WHITESPACE = re.compile(r"\s+")
# An inline placeholder (a stashed element or string) or a backslash escape's placeholder.
_PLACEHOLDER = re.compile("\x02(?:klzzwxh:([0-9]+)|([0-9]+))\x03")


def install(md: markdown.Markdown) -> None:
    """Install both fixes on `md` (built with attr_list)."""
    for pattern in md.inlinePatterns:
        if isinstance(pattern, ReferenceInlineProcessor):
            pattern.handleMatch = types.MethodType(_reference_match, pattern)
    if "attr_list" in md.treeprocessors:
        processor = md.treeprocessors["attr_list"]
        for name in ("HEADER_RE", "BLOCK_RE", "INLINE_RE"):
            setattr(processor, name, _DocumentedForms(getattr(AttrListTreeprocessor, name)))


# -- reference labels ----------------------------------------------------------------------


def label_key(label: str) -> str:
    """A link label as typed in a definition, in the form labels are compared in."""
    return _folded(_code_spans_canonical(label))


def _folded(label: str) -> str:
    return _WHITESPACE.sub(" ", label).strip().casefold()


def _code_spans_canonical(text: str) -> str:
    """Each code span (a run of n backticks up to the next run of exactly n) as its stripped
    text between single backticks."""
    if "`" not in text:
        return text
    parts: list[str] = []
    position = 0
    for open_start, open_end, close_start, close_end in code_spans(text):
        parts.append(text[position:open_start])
        parts.append("`" + " ".join(text[open_end:close_start].split()) + "`")
        position = close_end
    parts.append(text[position:])
    return "".join(parts)


def _inline_label_key(md: markdown.Markdown, label: str) -> str:
    """The key of a label as the inline processor holds it: its code spans and escapes
    replaced by placeholders, put back here as they were typed."""
    if "\x02" not in label:
        return _folded(label)
    stashed = getattr(md.treeprocessors["inline"], "stashed_nodes", {})

    def typed(match: re.Match) -> str:
        if match[2] is not None:  # a backslash escape
            return "\\" + chr(int(match[2]))
        node = stashed.get(match[1])
        if isinstance(node, str):
            return _PLACEHOLDER.sub(typed, node)
        if node is not None and node.tag == "code":
            return "`" + " ".join(html.unescape(node.text or "").split()) + "`"
        return match[0]

    return _folded(_PLACEHOLDER.sub(typed, label))


def _definitions(md: markdown.Markdown) -> dict[str, str]:
    """The document's link definitions by key (made again only when they change)."""
    references = md.references
    cached = getattr(md, "_pubkit_label_keys", None)
    if cached is None or cached[0] is not references or cached[1] != len(references):
        keys: dict[str, str] = {}
        for label in references:
            keys.setdefault(label_key(label), label)  # the first definition wins (CommonMark)
        cached = md._pubkit_label_keys = (references, len(references), keys)
    return cached[2]


def _reference_match(self: ReferenceInlineProcessor, m: re.Match, data: str):
    """ReferenceInlineProcessor.handleMatch, with labels compared as CommonMark compares them."""
    text, index, handled = self.getText(data, m.end(0))
    if not handled:
        return None, None, None
    label, end, handled = self.evalId(data, index, text)
    if not handled:
        return None, None, None
    found = self.md.references.get(label)
    if found is None:
        defined = _definitions(self.md).get(_inline_label_key(self.md, label))
        found = None if defined is None else self.md.references[defined]
    if found is None:  # an undefined reference: text
        return None, m.start(0), end
    href, title = found
    return self.makeTag(href, title, text), m.start(0), end


# -- attribute lists -----------------------------------------------------------------------


class _DocumentedForms:
    """One of attr_list's patterns, matching only attribute lists in a documented form."""

    def __init__(self, regex: re.Pattern):
        self.regex = regex

    def _checked(self, match: re.Match | None) -> re.Match | None:
        if match is None or ":" in match.string[match.start(0) : match.start(1)]:
            return match
        attributes, _ = get_attrs_and_remainder(match[1])
        if attributes and all(value is not None for _, value in attributes):
            return match
        return None  # a bare word: text

    def search(self, string: str, *args):
        return self._checked(self.regex.search(string, *args))

    def match(self, string: str, *args):
        return self._checked(self.regex.match(string, *args))

    def __getattr__(self, name: str):
        return getattr(self.regex, name)
