"""GitHub's strikethrough and extended autolinks (pymdownx.tilde, pymdownx.magiclink), with the
GFM spec's examples in tests/data/commonmark/gfm-extensions.json, and where pubkit departs."""

from __future__ import annotations

import pytest
from lxml import html

from pubkit.rendering.markup import markdown_to_xhtml
from pubkit.rendering.mdgfm import in_open_braces

from .fidelity import compare, examples


def _links(text: str) -> list[tuple[str, str]]:
    root = html.fragment_fromstring(markdown_to_xhtml(text).html or "<p></p>", create_parent="div")
    return [(a.get("href"), a.text_content()) for a in root.iter("a")]


@pytest.mark.parametrize(
    "section", ["Strikethrough (extension)", "Autolinks (extension)"], ids=["strikethrough", "autolinks"]
)
def test_the_spec_examples_of_a_section_match_github(section):
    chosen = [e for e in examples() if e.section == section and not e.deliberate]
    assert len(chosen) >= 2
    assert [e.key for e in chosen if not compare(e)] == []


def test_struck_text_and_bare_addresses():
    fragment = markdown_to_xhtml("~~Hi~~ Hello, see www.example.org/help or https://example.org/a_b.\n")
    assert "<del>Hi</del>" in fragment.html
    assert _links("see www.example.org/help or https://example.org/a_b.\n") == [
        ("http://www.example.org/help", "www.example.org/help"),
        ("https://example.org/a_b", "https://example.org/a_b"),  # the full stop is not the address's
    ]


def test_code_and_links_keep_their_addresses_as_written():
    assert _links("`https://x.org` and [a page](https://x.org/p)\n") == [("https://x.org/p", "a page")]


def test_an_address_inside_an_attribute_list_stays_an_attribute():
    fragment = markdown_to_xhtml('Para\n{: title="see https://example.org/y" }\n')
    assert fragment.html.startswith('<p title="see https://example.org/y">Para')
    assert "<a" not in fragment.html


def test_the_brace_look_back_is_bounded_and_per_line():
    assert in_open_braces("{: title=x https://a", 11)
    assert not in_open_braces("{x} https://a", 4)
    assert not in_open_braces("{: open\nhttps://a", 8)  # another line
    assert not in_open_braces("{" + " " * 5000 + "https://a", 5001)  # too far for an attribute list
