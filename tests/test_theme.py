"""Themes: a project theme that extends the bundled one supplies only what it changes."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from pubkit.errors import PubkitError
from pubkit.rendering import theme as theme_module
from pubkit.rendering.theme import Theme, bundled_styles

from .conftest import SAMPLE, run_pubkit

ACCENT = (0x8A, 0x15, 0x38)  # the clinic's accent colour
LOGO = (0, 200, 0)  # the clinic's logo: a plain green block, easy to find on the page


def _clinic_project(root: Path) -> Path:
    (root / "manuscripts").mkdir(parents=True)
    shutil.copy(SAMPLE, root / "manuscripts" / SAMPLE.name)
    (root / "pubkit.toml").write_text('theme = "clinic"\n', encoding="utf-8")
    clinic = root / "styles" / "clinic"
    clinic.mkdir(parents=True)
    (clinic / "theme.toml").write_text('extends = "default"\n', encoding="utf-8")
    (clinic / "print.css").write_text(":root { --accent: #8a1538; }\n", encoding="utf-8")
    Image.new("RGB", (400, 100), LOGO).save(clinic / "logo.png")
    return root


def _pixels_near(png: Path, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(1 << 24)
    return sum(
        count
        for count, pixel in colours
        if all(abs(channel - want) <= tolerance for channel, want in zip(pixel, colour, strict=True))
    )


def _first_page(pdf: Path, tmp: Path) -> Path:
    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp / "p")], check=True
    )
    return next(tmp.glob("p*.png"))


def test_a_theme_that_extends_default_changes_only_its_logo_and_accent(tmp_path: Path):
    project = _clinic_project(tmp_path / "clinic-project")
    result = run_pubkit("build", "--format", "pdf,epub", cwd=project)
    assert result.returncode == 0, result.stderr
    branded = _first_page(project / "output" / "magnesium-for-sciatica.pdf", tmp_path)

    plain_out = tmp_path / "plain"
    assert run_pubkit("build", str(SAMPLE), "--format", "pdf", "--out", str(plain_out)).returncode == 0
    (tmp_path / "plain-page").mkdir()
    plain = _first_page(plain_out / "magnesium-for-sciatica.pdf", tmp_path / "plain-page")

    # The logo (14 mm high) and the accent (title, rule, links) are on the branded page only.
    assert _pixels_near(branded, LOGO) > 200 and _pixels_near(plain, LOGO) == 0
    assert _pixels_near(branded, ACCENT) > 100 and _pixels_near(plain, ACCENT) == 0
    # Everything else still comes from the bundled theme: its fonts, its templates.
    fonts = subprocess.run(
        ["pdffonts", str(project / "output" / "magnesium-for-sciatica.pdf")], capture_output=True, text=True
    ).stdout
    assert "NotoSerif" in fonts or "Pubkit" in fonts
    with zipfile.ZipFile(project / "output" / "magnesium-for-sciatica.epub") as epub:
        names = epub.namelist()
        assert any(n.startswith("EPUB/images/logo-") and n.endswith(".png") for n in names), names
        titlepage = next(epub.read(n).decode() for n in names if n.endswith("titlepage.xhtml"))
        assert 'class="theme-logo"' in titlepage


def test_a_later_change_to_the_bundled_theme_reaches_the_extending_theme(tmp_path: Path, monkeypatch):
    """The clinic's theme keeps getting the bundled theme's updates: a changed template or
    stylesheet of the parent shows in the next build, and the build is not skipped as up to date."""
    from pubkit.pipeline.batch import build_many
    from pubkit.pipeline.single import BuildOptions

    project = _clinic_project(tmp_path / "project")
    bundled_copy = tmp_path / "bundled"
    shutil.copytree(bundled_styles(), bundled_copy)
    monkeypatch.setattr(theme_module, "bundled_styles", lambda: bundled_copy)
    monkeypatch.setattr(theme_module, "_LOADED", {})
    monkeypatch.chdir(project)
    options = BuildOptions(formats=("epub",))
    paths = [Path("manuscripts") / SAMPLE.name]

    first = build_many(paths, Path("output"), options, jobs=1)
    assert first.built == 1, first
    epub = Path("output") / "magnesium-for-sciatica.epub"
    with zipfile.ZipFile(epub) as archive:
        assert "Published by the bundled theme" not in archive.read("EPUB/titlepage.xhtml").decode()

    template = bundled_copy / "default" / "templates" / "titlepage.html.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "</section>", "  <p>Published by the bundled theme</p>\n</section>"
        ),
        encoding="utf-8",
    )
    css = bundled_copy / "default" / "epub.css"
    css.write_text(
        css.read_text(encoding="utf-8") + "\n.bundled-update { color: #123456; }\n", encoding="utf-8"
    )

    second = build_many(paths, Path("output"), options, jobs=1)
    assert second.built == 1 and second.skipped == 0, second
    with zipfile.ZipFile(epub) as archive:
        assert "Published by the bundled theme" in archive.read("EPUB/titlepage.xhtml").decode()
        stylesheet = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".css"))
        # The parent's sheet, updated, then the clinic's own rules after it.
        assert ".bundled-update" in stylesheet


def test_a_template_of_the_extending_theme_replaces_the_parents(tmp_path: Path):
    project = _clinic_project(tmp_path)
    templates = project / "styles" / "clinic" / "templates"
    templates.mkdir()
    bundled = (bundled_styles() / "default" / "templates" / "disclaimer.html.j2").read_text(encoding="utf-8")
    (templates / "disclaimer.html.j2").write_text(
        bundled.replace("</section>", "<p>Call the clinic: 555-0100</p></section>"), encoding="utf-8"
    )
    theme = Theme.find("clinic", project)
    assert theme.chain[1] == (bundled_styles() / "default").resolve()
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(project / "output" / "magnesium-for-sciatica.epub") as epub:
        assert b"Call the clinic: 555-0100" in epub.read("EPUB/disclaimer.xhtml")


@pytest.mark.parametrize(
    ("theme_toml", "message"),
    [
        ('extend = "default"\n', "unknown key 'extend' (did you mean 'extends'?)"),
        ('extends = "nosuch"\n', "extends 'nosuch', which is not a theme"),
        ('extends = "../default"\n', "'extends' must be the name of a theme"),
        ("extends = [1\n", "not valid TOML"),
        ('extends = "other"\n', "themes extend each other in a loop"),
    ],
)
def test_a_broken_theme_toml_is_one_clear_error(tmp_path: Path, theme_toml: str, message: str):
    project = _clinic_project(tmp_path)
    (project / "styles" / "clinic" / "theme.toml").write_text(theme_toml, encoding="utf-8")
    other = project / "styles" / "other"
    other.mkdir()
    (other / "theme.toml").write_text('extends = "clinic"\n', encoding="utf-8")
    with pytest.raises(PubkitError) as caught:
        Theme.find("clinic", project).chain  # noqa: B018
    assert message in caught.value.diagnostics[0].message
    result = run_pubkit("build", "--format", "epub", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and message in result.stderr, result.stderr


def test_a_folder_without_templates_or_theme_toml_is_not_a_theme(tmp_path: Path):
    project = _clinic_project(tmp_path)
    (project / "styles" / "clinic" / "theme.toml").unlink()
    with pytest.raises(PubkitError) as caught:
        Theme.find("clinic", project)
    assert 'extends = "default"' in caught.value.diagnostics[0].message
