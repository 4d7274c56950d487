"""Read a built PDF back and check what printers and screen readers need (pikepdf)."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import Diagnostic, Severity
from .livearea import describe, stray_glyphs

MIN_PRINT_DPI = 300
BLEED_PT = 9  # 0.125 in
RGB_OPERATORS = {"rg", "RG"}


def check_pdf(path: Path, profile: str) -> list[Diagnostic]:
    import pikepdf

    found: list[Diagnostic] = []

    def report(code: str, message: str, page: int | None = None, severity: Severity = Severity.ERROR) -> None:
        where = f"{path}#page={page}" if page else str(path)
        found.append(Diagnostic(where, None, message, code, severity))

    with pikepdf.open(path) as pdf:
        root = pdf.Root
        for name in sorted(_unembedded_fonts(pdf)):
            report("PDF-FONT-NOT-EMBEDDED", f"font {name} is not embedded")
        if profile == "handout":
            if "/StructTreeRoot" not in root:
                report("PDF-UNTAGGED", "no structure tree: the PDF is not tagged")
            if not (root.get("/MarkInfo") or {}).get("/Marked", False):
                report("PDF-UNTAGGED", "MarkInfo /Marked is not true")
            if not str(root.get("/Lang", "")):
                report("PDF-NO-LANG", "no document language (/Lang)")
            if not (root.get("/ViewerPreferences") or {}).get("/DisplayDocTitle", False):
                report("PDF-TITLE", "viewers will show the file name, not the title (DisplayDocTitle)")
            if not str(pdf.docinfo.get("/Title", "")).strip():
                report("PDF-TITLE", "no document title")
        if profile == "press":
            intents = [i for i in root.get("/OutputIntents", []) if i.get("/S") == "/GTS_PDFX"]
            if not intents:
                report("PDFX-NO-OUTPUT-INTENT", "no PDF/X output intent")
            elif int(intents[0].DestOutputProfile.get("/N", 0)) != 4:
                report("PDFX-OUTPUT-INTENT", "the output intent's profile is not CMYK")
            if len(pdf.pages) % 2:
                report("PRESS-ODD-PAGES", f"{len(pdf.pages)} pages; printers want an even count")
            trims = set()
            for number, page in enumerate(pdf.pages, start=1):
                if len(page.obj.get("/Annots", [])):
                    report(
                        "PDFX-ANNOTATION", "annotations (links) on the page are not allowed in PDF/X", number
                    )
                missing = [box for box in ("/TrimBox", "/BleedBox") if box not in page.obj]
                for box in missing:
                    report("PRESS-PAGE-BOX", f"no {box[1:]}", number)
                if not missing:
                    for code, problem in _box_problems(page.obj):
                        report(code, problem, number)
                    trim = [float(v) for v in page.obj.TrimBox]
                    trims.add((round(trim[2] - trim[0], 1), round(trim[3] - trim[1], 1)))
                for problem in _rgb_use(page.obj):
                    report("PDFX-RGB", problem, number)
                for problem in _transparency(page.obj):
                    report("PDFX-TRANSPARENCY", problem, number)
                for width, height, inches, dpi in _image_resolutions(pikepdf, page):
                    if dpi < MIN_PRINT_DPI:
                        report(
                            "PRESS-IMAGE-DPI",
                            f"a {width}x{height} px image prints {inches:.2f} in wide, at {dpi:.0f} DPI; "
                            f"printers want {MIN_PRINT_DPI} ({math.ceil(inches * MIN_PRINT_DPI)} px wide)",
                            number,
                            Severity.WARNING,
                        )
            if len(trims) > 1:
                sizes = ", ".join(f"{w:g}x{h:g} pt" for w, h in sorted(trims))
                report("PRESS-TRIM", f"pages differ in trim size: {sizes}")
        for stray in stray_glyphs(pdf, profile):  # both profiles: see livearea.py
            report("PDF-LIVE-AREA", describe(stray, profile), stray.page)
    return found


def _box_problems(page) -> list[tuple[str, str]]:
    """The TrimBox inside the BleedBox inside the MediaBox; bleed on a side is none or 0.125 in."""
    trim, bleed, media = ([float(v) for v in page[box]] for box in ("/TrimBox", "/BleedBox", "/MediaBox"))

    def inside(inner, outer) -> bool:
        return all(inner[i] >= outer[i] - 0.01 for i in (0, 1)) and all(
            inner[i] <= outer[i] + 0.01 for i in (2, 3)
        )

    if not (inside(trim, bleed) and inside(bleed, media)):
        return [("PRESS-PAGE-BOX", "the TrimBox must lie in the BleedBox, and that in the MediaBox")]
    sides = (trim[0] - bleed[0], bleed[2] - trim[2], trim[1] - bleed[1], bleed[3] - trim[3])
    short = [side for side in sides if 0.01 < side < BLEED_PT - 0.01]
    if short:
        return [("PRESS-BLEED", f"a bleed of {min(short):.1f} pt; printers want 0.125 in ({BLEED_PT:g} pt)")]
    return []


def _transparency(obj, seen: set | None = None) -> list[str]:
    """Transparency (PDF/X-1a has none): soft masks, alpha below 1, blend modes, in graphics states."""
    seen = set() if seen is None else seen
    problems = []
    resources = obj.get("/Resources") or {}
    for name, state in (resources.get("/ExtGState") or {}).items():
        alpha = min(float(state.get("/CA", 1)), float(state.get("/ca", 1)))
        mask = str(state.get("/SMask", "/None")) != "/None"
        blend = str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible")
        if alpha < 1 or mask or blend:
            problems.append(f"transparency in graphics state {name}")
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == "/Image" and "/SMask" in xobject:
            problems.append("an image with a soft mask (alpha channel)")
        elif xobject.get("/Subtype") == "/Form":
            problems.extend(_transparency(xobject, seen))
    return problems


def _fonts_of(resources, seen: set):
    fonts = resources.get("/Font") or {}
    for font in fonts.values():
        if font.objgen in seen:
            continue
        seen.add(font.objgen)
        yield font
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject and xobject.objgen not in seen:
            seen.add(xobject.objgen)
            yield from _fonts_of(xobject.Resources, seen)


def _unembedded_fonts(pdf) -> set[str]:
    missing = set()
    seen: set = set()
    for page in pdf.pages:
        for font in _fonts_of(page.obj.get("/Resources") or {}, seen):
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs are drawn by content streams inside the font
            descriptor = (
                font.DescendantFonts[0].get("/FontDescriptor")
                if "/DescendantFonts" in font
                else font.get("/FontDescriptor")
            )
            if descriptor is None or not any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.add(str(font.get("/BaseFont", "?")))
    return missing


def is_rgb_space(space) -> bool:
    if space is None:
        return False
    if str(space) in ("/DeviceRGB", "/CalRGB"):
        return True
    if isinstance(space, list) or hasattr(space, "__getitem__") and not isinstance(space, str | bytes):
        try:
            family = str(space[0])
        except (IndexError, KeyError, TypeError):
            return False
        if family == "/ICCBased":
            return int(space[1].get("/N", 0)) == 3
        if family in ("/Indexed", "/Separation", "/DeviceN"):
            return is_rgb_space(space[1] if family == "/Indexed" else space[2])
        if family == "/CalRGB":
            return True
    return False


def _rgb_use(obj, seen: set | None = None) -> list[str]:
    """RGB colour spaces in resources (images, forms, shadings) and RGB operators in content."""
    import pikepdf

    seen = set() if seen is None else seen
    problems = []
    resources = obj.get("/Resources") or {}
    for name, space in (resources.get("/ColorSpace") or {}).items():
        if is_rgb_space(space):
            problems.append(f"RGB colour space {name}")
    for name, shading in (resources.get("/Shading") or {}).items():
        if is_rgb_space(shading.get("/ColorSpace")):
            problems.append(f"RGB shading {name}")
    for name, pattern in (resources.get("/Pattern") or {}).items():  # gradients, tiled backgrounds
        if pattern.objgen in seen:
            continue
        seen.add(pattern.objgen)
        if int(pattern.get("/PatternType", 0)) == 2:
            if is_rgb_space((pattern.get("/Shading") or {}).get("/ColorSpace")):
                problems.append(f"RGB shading pattern {name}")
        elif "/Resources" in pattern:
            problems.extend(_rgb_use(pattern, seen))
    group = obj.get("/Group")
    if group is not None and is_rgb_space(group.get("/CS")):
        problems.append("RGB transparency group")
    for name, xobject in (resources.get("/XObject") or {}).items():
        if xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        if xobject.get("/Subtype") == "/Image" and is_rgb_space(xobject.get("/ColorSpace")):
            problems.append(f"RGB image {name}")
        elif xobject.get("/Subtype") == "/Form":
            problems.extend(_rgb_use(xobject, seen))
    for operands, operator in pikepdf.parse_content_stream(obj):
        if str(operator) in RGB_OPERATORS:
            problems.append(f"RGB colour operator {operator} {' '.join(str(o) for o in operands)}")
            break
    return problems


def _image_resolutions(pikepdf, page):
    """(width px, height px, printed width in inches, effective DPI) for each image drawn on the
    page, from the CTM at `Do`."""
    xobjects = (page.obj.get("/Resources") or {}).get("/XObject") or {}
    stack = []
    ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    for operands, operator in pikepdf.parse_content_stream(page.obj):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            A, B, C, D, E, F = ctm
            ctm = (
                a * A + b * C,
                a * B + b * D,
                c * A + d * C,
                c * B + d * D,
                e * A + f * C + E,
                e * B + f * D + F,
            )
        elif op == "Do":
            name = str(operands[0])
            image = xobjects.get(name)
            if image is None or image.get("/Subtype") != "/Image":
                continue
            width_pt = math.hypot(ctm[0], ctm[1])
            if width_pt > 0:
                yield int(image.Width), int(image.Height), width_pt / 72, int(image.Width) / (width_pt / 72)
