"""Captions and figures the way pandoc writes them, numbered, with cross-references.

- A table caption written `Table: text` or `: text`, in the paragraph just before or just after
  the table, becomes its <caption>; a trailing `{#tbl-x}` is the table's id.
- An image alone in its paragraph becomes a <figure> whose <figcaption> is its title, else its
  alt text (pandoc's implicit figures); `{#fig-x}` after the image is the figure's id.
- Captioned tables and figures are numbered in order, in the book's words ("Figure 1",
  "Tabla 2": the theme's `figure_number` and `table_number`), and `@fig-x` / `@tbl-x` in the
  text becomes a link reading "Figure 1". A reference to no such id is reported.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

from lxml import etree

from .markup import _remove_keeping_tail

_CAPTION = re.compile(r"^\s*(?:Table:|:)\s+(\S.*)$", re.DOTALL)
_ID = re.compile(r"\s*\{#((?:tbl|fig)-[\w-]+)\}\s*$")
_CROSSREF = re.compile(r"(?<![\w@])@((?:fig|tbl)-[\w-]*\w)")
_SKIP = {"code", "pre", "a", "script", "style"}


def captions_and_figures(root: etree._Element, words: Mapping[str, str]) -> list[tuple[str, str]]:
    """Rewrite `root` in place; returns (needle, message) for each cross-reference to nothing."""
    for table in list(root.iter("table")):
        _table_caption(table)
    numbers: dict[str, str] = {}
    tables = figures = 0
    for element in list(root.iter("table", "p")):
        if element.tag == "table":
            caption = element.find("caption")
            if caption is None or not "".join(caption.itertext()).strip():
                continue
            tables += 1
            label = words["table_number"].replace("{number}", str(tables))
            _prefix(caption, label)
            if element.get("id"):
                numbers[element.get("id")] = label
        elif _alone(element):
            figures += 1
            label = words["figure_number"].replace("{number}", str(figures))
            figure_id = _figure(element, label)
            if figure_id:
                numbers[figure_id] = label
    return _cross_references(root, numbers)


def _table_caption(table: etree._Element) -> None:
    if table.find("caption") is not None:
        caption = table.find("caption")
    else:
        caption = None
        for neighbour in (table.getprevious(), table.getnext()):
            if neighbour is None or neighbour.tag != "p" or len(neighbour):
                continue
            match = _CAPTION.match(neighbour.text or "")
            if match:
                caption = etree.Element("caption")
                caption.text = match[1].strip()
                table.insert(0, caption)
                _remove_keeping_tail(neighbour)
                break
    if caption is None:
        return
    # A trailing {#tbl-x}: the table's id (attr_list leaves it in a caption's text).
    last = caption[-1] if len(caption) else None
    text = (last.tail if last is not None else caption.text) or ""
    match = _ID.search(text)
    if match:
        if last is not None:
            last.tail = text[: match.start()]
        else:
            caption.text = text[: match.start()]
        table.set("id", match[1])


def _alone(paragraph: etree._Element) -> bool:
    """A paragraph holding one image and nothing else (pandoc's implicit figure)."""
    return (
        len(paragraph) == 1
        and paragraph[0].tag == "img"
        and not (paragraph.text or "").strip()
        and not (paragraph[0].tail or "").strip()
    )


def _figure(paragraph: etree._Element, label: str) -> str:
    image = paragraph[0]
    caption_text = (image.get("title") or image.get("alt") or "").strip()
    figure = etree.Element("figure")
    figure_id = image.attrib.pop("id", None) or ""
    if figure_id:
        figure.set("id", figure_id)
    image.tail = None
    figure.append(copy.copy(image))
    figcaption = etree.SubElement(figure, "figcaption")
    figcaption.text = caption_text
    _prefix(figcaption, label)
    figure.tail = paragraph.tail
    paragraph.getparent().replace(paragraph, figure)
    return figure_id


def _prefix(caption: etree._Element, label: str) -> None:
    number = etree.Element("span", {"class": "caption-number"})
    number.text = label
    text = caption.text or ""
    number.tail = (". " if text.strip() or len(caption) else "") + text.lstrip()
    caption.text = None
    caption.insert(0, number)


def _cross_references(root: etree._Element, numbers: dict[str, str]) -> list[tuple[str, str]]:
    missing: list[tuple[str, str]] = []
    places = []  # (element, "text" | "tail"): every text outside code and links
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in _SKIP:
            continue
        if any(a.tag in _SKIP for a in element.iterancestors()):
            continue
        places.append((element, "text"))
        places.extend((child, "tail") for child in element)
    for element, where in places:
        text = getattr(element, where) or ""
        if "@" in text and _CROSSREF.search(text):
            _link(element, where, text, numbers, missing)
    return missing


def _link(element, where: str, text: str, numbers: dict[str, str], missing: list) -> None:
    pieces = _CROSSREF.split(text)
    setattr(element, where, pieces[0])
    if where == "text":
        parent, position = element, 0
    else:
        parent, position = element.getparent(), element.getparent().index(element) + 1
    for index in range(1, len(pieces), 2):
        target = pieces[index]
        if target in numbers:
            link = etree.Element("a", {"href": f"#{target}", "class": "crossref"})
            link.text = numbers[target]
        else:
            missing.append((f"@{target}", f"cross-reference @{target}: no figure or table has that id"))
            link = etree.Element("span", {"class": "crossref-missing"})
            link.text = f"@{target}"
        link.tail = pieces[index + 1]
        parent.insert(position, link)
        position += 1
