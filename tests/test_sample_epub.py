"""The sample manuscript's EPUB: valid, with the credits, disclaimer and metadata the contract asks for."""

from __future__ import annotations

import re
import zipfile

from lxml import etree

from pubkit.check.epubcheck import run_epubcheck

from .conftest import OPF_NS, SAMPLE, read_opf, run_pubkit, spine_hrefs


def test_epubcheck_reports_nothing(sample_build):
    report = run_epubcheck(sample_build.epub)
    assert report.version.startswith("5.3")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [
        d.format() for d in report.diagnostics
    ]
    assert report.diagnostics == ()


def _refines(opf, element_id: str, prop: str) -> list[str]:
    return [
        m.text
        for m in opf.iterfind(".//opf:metadata/opf:meta", OPF_NS)
        if m.get("refines") == f"#{element_id}" and m.get("property") == prop
    ]


def test_author_is_creator_with_aut_role(sample_build):
    opf = read_opf(sample_build.epub)
    creators = opf.findall(".//dc:creator", OPF_NS)
    assert [c.text for c in creators] == ["Luat Duong"]
    assert _refines(opf, creators[0].get("id"), "role") == ["aut"]
    assert _refines(opf, creators[0].get("id"), "file-as") == ["Duong, Luat"]


def test_reviewer_is_contributor_with_rev_role(sample_build):
    opf = read_opf(sample_build.epub)
    contributors = opf.findall(".//dc:contributor", OPF_NS)
    assert [c.text for c in contributors] == ["Hanna Spears"]
    assert _refines(opf, contributors[0].get("id"), "role") == ["rev"]


def test_metadata(sample_build):
    opf = read_opf(sample_build.epub)
    text = {
        tag: [e.text for e in opf.findall(f".//dc:{tag}", OPF_NS)]
        for tag in ("title", "language", "date", "description", "subject")
    }
    assert text["title"] == ["Magnesium for Sciatica: Pain Relief & Support"]
    assert text["language"] == ["en-US"]
    assert text["date"] == ["2026-11-23"]
    assert text["description"][0].startswith("How magnesium supports muscle function")
    assert "magnesium" in text["subject"] and "sciatica" in text["subject"]
    modified = [
        m.text for m in opf.iterfind(".//opf:meta", OPF_NS) if m.get("property") == "dcterms:modified"
    ]
    assert len(modified) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", modified[0])


def test_identifier_is_stable_across_rebuilds(sample_build, tmp_path):
    first = read_opf(sample_build.epub)
    unique_id = first.get("unique-identifier")
    identifier = first.find(f".//dc:identifier[@id='{unique_id}']", OPF_NS).text
    assert identifier.startswith("urn:uuid:")
    rebuilt = run_pubkit("build", str(SAMPLE), "--format", "epub", "--out", str(tmp_path))
    assert rebuilt.returncode == 0, rebuilt.stderr
    again = read_opf(tmp_path / "magnesium-for-sciatica.epub")
    assert again.find(f".//dc:identifier[@id='{unique_id}']", OPF_NS).text == identifier
    # Same input, same timestamp source: the whole archive is the same bytes.
    assert (tmp_path / "magnesium-for-sciatica.epub").read_bytes() == sample_build.epub.read_bytes()


def test_spine_order_front_matter_then_body(sample_build):
    spine = spine_hrefs(sample_build.epub)
    assert spine == [
        "cover.xhtml",
        "titlepage.xhtml",
        "copyright.xhtml",
        "credits.xhtml",
        "disclaimer.xhtml",
        "nav.xhtml",
        "body.xhtml",
    ]
    assert spine.index("disclaimer.xhtml") < spine.index("body.xhtml")


def test_mimetype_first_and_stored(sample_build):
    with zipfile.ZipFile(sample_build.epub) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"application/epub+zip"


def _documents(epub):
    with zipfile.ZipFile(epub) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name.endswith(".xhtml")}


def test_every_xhtml_is_well_formed_without_named_entities(sample_build):
    documents = _documents(sample_build.epub)
    assert len(documents) == 7
    for name, data in documents.items():
        etree.fromstring(data)  # raises on anything not well-formed XML
        assert not re.search(rb"&(?!amp;|lt;|gt;|quot;|apos;|#)\w+;", data), name


def test_front_matter_documents_carry_semantics(sample_build):
    docs = {
        name.rsplit("/", 1)[-1]: etree.fromstring(data)
        for name, data in _documents(sample_build.epub).items()
    }
    epub_type = "{http://www.idpf.org/2007/ops}type"
    credits = docs["credits.xhtml"].find(".//{*}section")
    assert credits.get(epub_type) == "credits" and credits.get("role") == "doc-credits"
    credits_text = " ".join(credits.itertext())
    assert "Written by" in credits_text and "Medically reviewed by" in credits_text
    assert "Dr. Hanna Spears, M.D." in credits_text and "Board-Certified Internal Medicine" in credits_text
    assert "November 1, 2026" in credits_text
    notice = docs["disclaimer.xhtml"].find(".//{*}section")
    assert notice.get(epub_type) == "notice" and notice.get("role") == "doc-notice"
    assert "Evidence-based disclaimer" in " ".join(notice.itertext())
    nav = docs["nav.xhtml"]
    kinds = [n.get(epub_type) for n in nav.iter("{*}nav")]
    assert kinds == ["toc", "landmarks"]
    landmarks = [a.get(epub_type) for a in nav.iterfind(".//{*}nav[@id='landmarks']//{*}a")]
    assert "bodymatter" in landmarks and "toc" in landmarks
    toc_text = " ".join(nav.find(".//{*}nav[@id='toc']").itertext())
    assert "The Role of Magnesium in Muscle Function" in toc_text and "Q2: Is there a risk" in toc_text


def test_ncx_present_for_older_readers(sample_build):
    with zipfile.ZipFile(sample_build.epub) as archive:
        ncx = etree.fromstring(archive.read("EPUB/toc.ncx"))
    labels = [t.text for t in ncx.iterfind(".//{*}navPoint/{*}navLabel/{*}text")]
    assert "Conclusion: Embracing Magnesium for Better Performance and Comfort" in labels
    assert "Evidence-based disclaimer" in labels
