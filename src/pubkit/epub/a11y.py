"""EPUB Accessibility 1.1 metadata, derived from what the book really contains.

The conformance claim ("EPUB Accessibility 1.1 - WCAG 2.2 Level AA") is made only
when the book passes pubkit's own checks; the end-to-end tests hold every book that
makes the claim to zero Ace by DAISY violations.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Book

CONFORMS_TO = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"


@dataclass(frozen=True)
class Accessibility:
    access_modes: tuple[str, ...]
    access_modes_sufficient: tuple[str, ...]  # each a comma-separated set
    features: tuple[str, ...]
    hazards: tuple[str, ...]
    summary: str
    conforms: bool
    gaps: tuple[str, ...]  # why the claim is not made


def assess(book: Book) -> Accessibility:
    has_images = bool(book.assets)  # the cover is not content: its alt text is the title
    gaps = []
    if book.images_without_alt:
        gaps.append(f"{book.images_without_alt} image(s) without alternative text")
    modes = ("textual", "visual") if has_images else ("textual",)
    sufficient = ["textual"] if not book.images_without_alt else []
    if has_images:
        sufficient.append("textual,visual")
    features = ["tableOfContents", "readingOrder", "ARIA", "displayTransformability"]
    if book.headings:
        features.append("structuralNavigation")
    if book.assets and not book.images_without_alt:
        features.append("alternativeText")
    if book.has_footnotes:
        features.append("annotations")
    conforms = not gaps
    if conforms:
        summary = (
            f"This publication conforms to {CONFORMS_TO}. It has a table of contents, headings for "
            "structural navigation, a logical reading order"
            + (", text alternatives for every image" if book.assets else "")
            + ", and no flashing, motion or sound hazards."
        )
    else:
        summary = (
            "This publication has a table of contents, headings for structural navigation and a logical "
            "reading order, and no hazards; it does not claim WCAG conformance because it has "
            + "; ".join(gaps)
            + "."
        )
    return Accessibility(modes, tuple(sufficient), tuple(features), ("none",), summary, conforms, tuple(gaps))
