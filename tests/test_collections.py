"""A collection (books/<slug>.yml) built as a user builds it: `pubkit build books/back-pain.yml`.

24 generated articles in three parts (tests/collection_fixture.py), each with its own authors,
reviewer, review date, footnotes, a table and an image. Both PDF profiles, laid out chapter by
chapter in worker processes (the default) and in one pass (--layout single), and the EPUB with
the press PDF's page numbers.
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from lxml import etree

from pubkit.check.ace import run_ace
from pubkit.check.epubcheck import run_epubcheck
from pubkit.check.pdfcheck import check_pdf

from .collection_fixture import write_collection
from .conftest import OPF_NS, read_opf, run_pubkit

ARTICLES = 24
XHTML = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
OPF = {**OPF_NS, "opf": "http://www.idpf.org/2007/opf"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("collection")
    write_collection(folder, articles=ARTICLES, sections=3, paragraphs=2, parts=3)
    return folder


@pytest.fixture(scope="module")
def built(project) -> dict:
    parallel = run_pubkit(
        "build",
        "books/back-pain.yml",
        "--profile",
        "handout,press",
        "--out",
        "out",
        "--jobs",
        "2",
        cwd=project,
    )
    assert parallel.returncode == 0, parallel.stderr
    single = run_pubkit(
        "build",
        "books/back-pain.yml",
        "--profile",
        "handout,press",
        "--format",
        "pdf",
        "--layout",
        "single",
        "--out",
        "single",
        cwd=project,
    )
    assert single.returncode == 0, single.stderr
    out, one = project / "out", project / "single"
    return {
        "epub": out / "back-pain.epub",
        "parallel": {"handout": out / "back-pain.pdf", "press": out / "back-pain.press.pdf"},
        "single": {"handout": one / "back-pain.pdf", "press": one / "back-pain.press.pdf"},
        "stderr": parallel.stderr,
    }


def page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def letters(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", text).lower()


def test_the_epub_passes_epubcheck_and_ace(built):
    report = run_epubcheck(built["epub"])
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.diagnostics[:5]
    ace = run_ace(built["epub"])
    assert ace.violations == 0, ace.diagnostics[:5]


def test_the_pdfs_pass_pubkits_own_checks(built):
    for layout in ("parallel", "single"):
        for profile, pdf in built[layout].items():
            errors = [d for d in check_pdf(pdf, profile) if d.severity == "error"]
            assert errors == [], (layout, profile, errors[:3])


def test_the_opf_credits_editors_authors_and_reviewers_with_their_roles(built):
    opf = read_opf(built["epub"])
    roles = {
        meta.get("refines")[1:]: meta.text for meta in opf.iterfind(".//opf:meta[@property='role']", OPF)
    }
    creators = {e.text: roles[e.get("id")] for e in opf.iterfind(".//dc:creator", OPF)}
    contributors = {e.text: roles[e.get("id")] for e in opf.iterfind(".//dc:contributor", OPF)}
    assert creators == {"Editor One": "edt", "Editor Two": "edt"}
    for index in range(1, ARTICLES + 1):
        assert contributors[f"Author{index} Writer"] == "aut"
        assert contributors[f"Reviewer{index} Doctor"] == "rev"
    assert len(contributors) == 2 * ARTICLES


def _chapter_texts(epub: Path) -> dict[int, str]:
    texts = {}
    with zipfile.ZipFile(epub) as archive:
        for index in range(1, ARTICLES + 1):
            root = etree.fromstring(archive.read(f"EPUB/chapter-article-{index:02d}.xhtml"))
            texts[index] = " ".join(" ".join(root.itertext()).split())
    return texts


def test_every_chapter_carries_its_credits_and_review_date_in_both_outputs(built):
    chapters = _chapter_texts(built["epub"])
    pages = page_texts(built["parallel"]["press"])
    opening = _title_pages(pages)
    for index in range(1, ARTICLES + 1):
        day = (index - 1) % 27 + 1
        wanted = (
            f"Author{index} Writer, RDN",
            f"Dr. Reviewer{index} Doctor, M.D.",
            f"Medically reviewed by Dr. Reviewer{index} Doctor, M.D. on September {day}, 2026",
            f"Author{index} writes about nutrition for clinics.",
        )
        for text in wanted:
            assert text in chapters[index], (index, text)
        first = opening[index]
        chapter_pdf = " ".join(" ".join(pages[first - 1 : first + 1]).split())
        for text in wanted[:3]:
            assert text in chapter_pdf, (index, text)
        own = f"Article {index} has its own disclaimer."
        assert (own in chapters[index]) == (index % 3 == 0), index  # the book's shows once, up front
    assert "not part of the book" not in built["stderr"]  # links to the other articles lead into it


def _title_pages(pages: list[str]) -> dict[int, int]:
    """Article number -> the page (1-based) whose first line is that article's title."""
    found = {}
    for number, text in enumerate(pages, start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for line in lines[:2]:
            match = re.match(r"Article (\d+): [A-Z][a-z]+ and( [a-z]+)?$", line)  # a long one wraps
            if match and int(match[1]) not in found:
                found[int(match[1])] = number
    return found


def _contents(pages: list[str]) -> dict[str, int]:
    """Entry title -> page number, read from the printed contents."""
    entries = {}
    for text in pages[:8]:
        for line in text.splitlines():
            match = re.fullmatch(r"\s*((?:Article \d+: \w+ and \w+)|(?:Part \d))\s*\.{3,}\s*(\d+)\s*", line)
            if match:
                entries[match[1]] = int(match[2])
    return entries


@pytest.mark.parametrize("layout", ["parallel", "single"])
@pytest.mark.parametrize("profile", ["handout", "press"])
def test_contents_page_numbers_are_where_each_title_lands(built, layout, profile):
    pages = page_texts(built[layout][profile])
    contents = _contents(pages)
    titles = _title_pages(pages)
    assert len(titles) == ARTICLES
    articles = {title: page for title, page in contents.items() if title.startswith("Article")}
    assert len(articles) == ARTICLES, sorted(contents)
    for title, page in articles.items():
        number = int(re.match(r"Article (\d+)", title)[1])
        assert titles[number] == page, (title, page, titles[number])
    parts = {title: page for title, page in contents.items() if title.startswith("Part")}
    assert len(parts) == 3
    for title, page in parts.items():
        assert pages[page - 1].split()[:2] == title.split(), (title, page)  # then the footer, if any
    if profile == "press":  # every article opens on a right-hand page
        assert all(page % 2 == 1 for page in titles.values())
        assert len(pages) % 2 == 0


@pytest.mark.parametrize("profile", ["handout", "press"])
def test_the_parallel_layout_gives_the_single_pass_book(built, profile):
    parallel, single = page_texts(built["parallel"][profile]), page_texts(built["single"][profile])
    assert len(parallel) == len(single)
    assert [p.split() for p in parallel] == [p.split() for p in single]
    with pikepdf.open(built["parallel"][profile]) as merged, pikepdf.open(built["single"][profile]) as one:
        tree = _outline(merged)
        assert tree == _outline(one)
        assert [title for depth, title in tree if depth == 0][:2] == ["Back Pain and Nutrition", "Part 1"]
        assert (1, "Article 1: " + tree[2][1].split(": ", 1)[1]) == tree[2]  # an article under its part
        if profile == "handout":  # tagged: one structure tree over every page
            assert "/StructTreeRoot" in merged.Root
            parents = [page.obj.get("/StructParents") for page in merged.pages]
            assert all(p is not None for p in parents) and len(set(parents)) == len(parents)
        else:
            assert merged.Root.OutputIntents[0].S == "/GTS_PDFX"
            assert all("/TrimBox" in page.obj and "/BleedBox" in page.obj for page in merged.pages)


def _outline(pdf) -> list[tuple[int, str]]:
    found = []

    def walk(items, depth: int) -> None:
        for item in items:
            found.append((depth, item.title))
            walk(item.children, depth + 1)

    with pdf.open_outline() as outline:
        walk(outline.root, 0)
    return found


def test_page_numbers_in_the_print_edition_are_where_the_epub_marks_them(built):
    pages = page_texts(built["parallel"]["press"])
    with zipfile.ZipFile(built["epub"]) as archive:
        nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
        entries = nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=XHTML)
        assert [a.text for a in entries] == [str(n) for n in range(1, len(pages) + 1)]
        documents = {}
        checked = 0
        for number in range(10, len(pages) + 1, 10):
            href = entries[number - 1].get("href")
            name, fragment = href.split("#")
            if name not in documents:
                documents[name] = etree.fromstring(archive.read(f"EPUB/{name}"))
            marker = documents[name].xpath(f"//*[@id='{fragment}']")[0]
            assert marker.get("{http://www.idpf.org/2007/ops}type") == "pagebreak"
            assert marker.get("role") == "doc-pagebreak" and marker.get("aria-label") == str(number)
            following = letters("".join(marker.xpath("following::text()"))[:200])[:25]
            if not letters(pages[number - 1]):  # a blank verso: its marker stands with the next page's
                following_page = pages[number]
            else:
                following_page = pages[number - 1]
            assert following and following in letters(following_page), (number, following)
            checked += 1
        assert checked == len(pages) // 10
    opf = read_opf(built["epub"])
    features = opf.xpath("//opf:meta[@property='schema:accessibilityFeature']/text()", namespaces=OPF)
    assert "printPageNumbers" in features
    assert opf.xpath("//opf:meta[@property='pageBreakSource']/text()", namespaces=OPF) == [
        "urn:isbn:9781402894626"
    ]


def test_links_between_articles_stay_inside_the_book(built):
    with zipfile.ZipFile(built["epub"]) as archive:
        first = archive.read("EPUB/chapter-article-01.xhtml").decode()
    assert 'href="chapter-article-02.xhtml#article-02--pubkit-chapter-title"' in first
    assert 'href="chapter-article-02.xhtml#article-02--s1"' in first
    assert ".md" not in "".join(re.findall(r'href="([^"]*)"', first))
    with pikepdf.open(built["parallel"]["handout"]) as pdf:
        actions = [
            annot.get("/A")
            for page in pdf.pages
            for annot in page.obj.get("/Annots", [])
            if annot.get("/Subtype") == "/Link"
        ]
        uris = [str(a.URI) for a in actions if a is not None and a.get("/S") == "/URI"]
        assert not [u for u in uris if "pubkit.invalid" in u or u.endswith(".md")], uris[:3]
        assert sum(1 for a in actions if a is not None and a.get("/S") == "/GoTo") >= 2 * ARTICLES


def test_editing_one_article_rebuilds_the_book(project, built):
    again = run_pubkit("build", "books/back-pain.yml", "--format", "epub", "--out", "epub-only", cwd=project)
    assert again.returncode == 0, again.stderr
    unchanged = run_pubkit(
        "build", "books/back-pain.yml", "--format", "epub", "--out", "epub-only", cwd=project
    )
    assert "skipped 1" in unchanged.stderr
    article = project / "manuscripts" / "article-05.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    edited = run_pubkit("build", "books/back-pain.yml", "--format", "epub", "--out", "epub-only", cwd=project)
    assert "built 1" in edited.stderr, edited.stderr
    with zipfile.ZipFile(project / "epub-only" / "back-pain.epub") as archive:
        assert "One more line." in archive.read("EPUB/chapter-article-05.xhtml").decode()


def test_a_broken_collection_says_where_and_keeps_the_old_outputs(project, built, tmp_path):
    book = project / "books" / "broken.yml"
    book.write_text(
        "title: Broken\neditors: [{name: A B}]\nmanuscripts:\n  - manuscripts/article-01.md\n"
        "  - manuscripts/nowhere.md\n",
        encoding="utf-8",
    )
    (project / "out-broken").mkdir()
    keep = project / "out-broken" / "broken.epub"
    keep.write_bytes(b"old")
    result = run_pubkit("build", "books/broken.yml", "--format", "epub", "--out", "out-broken", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(r"books/broken\.yml:5: .*nowhere\.md", result.stderr), result.stderr
    assert keep.read_bytes() == b"old"
    book.unlink()


def test_a_theme_that_shows_page_references_takes_the_single_pass(tmp_path):
    """A chapter laid out alone knows neither the book's page numbers nor the other chapters: a
    theme that prints "(p. 12)" after each link inside the book gets the single pass's pages."""
    from pubkit.pdf.chapters import page_references
    from pubkit.rendering.theme import Theme

    write_collection(tmp_path, articles=4, sections=1, paragraphs=1, parts=1)
    theme = tmp_path / "styles" / "seepage"
    theme.mkdir(parents=True)
    (theme / "theme.toml").write_text('extends = "default"\n', encoding="utf-8")
    rule = '.chapter p a[href^="#"]::after { content: " (p. " target-counter(attr(href), page) ")"; }\n'
    (theme / "print.css").write_text(f"@media print {{ {rule} }}\n", encoding="utf-8")
    assert page_references(Theme.at(theme), "press") == ['.chapter p a[href^="#"]::after']
    assert page_references(Theme.find("default", tmp_path), "press") == []  # the contents' own rule
    (tmp_path / "pubkit.toml").write_text('theme = "seepage"\n', encoding="utf-8")
    texts = {}
    for layout in ("auto", "single"):
        args = ("--profile", "press", "--format", "pdf", "--layout", layout, "--jobs", "2")
        result = run_pubkit("build", "books/back-pain.yml", *args, "--out", layout, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        texts[layout] = page_texts(tmp_path / layout / "back-pain.press.pdf")
    assert texts["auto"] == texts["single"]
    assert re.search(r"\(p\. \d+\)", "".join(texts["single"]))  # the references are there


def test_check_reads_a_collection_as_its_book_and_due_as_its_articles(tmp_path):
    write_collection(tmp_path, articles=3, sections=2, paragraphs=1, parts=1)
    due = run_pubkit("check", "--due", "--json", cwd=tmp_path)  # books/back-pain.yml is found too
    assert due.returncode == 0, due.stderr
    import json

    listed = [row["manuscript"] for row in json.loads(due.stdout)["manuscripts"]]
    assert listed == [f"manuscripts/article-0{n}.md" for n in (1, 2, 3)]  # each once
    alone = run_pubkit("check", "--due", "--json", "books/back-pain.yml", cwd=tmp_path)
    assert [row["manuscript"] for row in json.loads(alone.stdout)["manuscripts"]] == listed
    checked = run_pubkit("check", "books/back-pain.yml", "--no-ace", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "checked output/back-pain.epub with EPUBCheck and the store rules" in checked.stderr
    assert "0 error(s), 0 warning(s)" in checked.stderr
