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
    labels = book.labels
    if labels is None:  # a Book made by hand: the bundled theme's English
        from ..rendering.labels import english
        from ..rendering.theme import bundled_styles

        labels = english((bundled_styles().resolve() / "default",))
    if conforms:
        key = "a11y_conforms_images" if book.assets else "a11y_conforms"
        summary = labels.text(key, standard=CONFORMS_TO)
    else:
        summary = labels.text("a11y_missing_alt", count=book.images_without_alt)
    return Accessibility(modes, tuple(sufficient), tuple(features), ("none",), summary, conforms, tuple(gaps))
