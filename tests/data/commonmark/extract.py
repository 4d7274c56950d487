"""Regenerate spec.json and gfm-extensions.json from the two specs' spec.txt (see README.md).

    python tests/data/commonmark/extract.py CMARK_SPEC_TXT GFM_SPEC_TXT

The examples are found as the CommonMark spec's own index.js finds them (the same regular
expression), so spec.json equals `require("commonmark-spec").tests`. Tabs stay written as "→",
as in the specs; the loader (tests/fidelity.py) turns them into tabs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_EXAMPLE = re.compile(r"^`{32} example([^\n]*)\n([\s\S]*?)^\.\n([\s\S]*?)^`{32}$|^#{1,6} *(.*)$", re.M)
# The GFM spec marks each extension's examples ("example table"); the task list examples are
# marked "disabled" there (cmark-gfm's spec runner had no task list support when it was written).
_EXTENSION_SECTIONS = {
    "Tables (extension)": "table",
    "Task list items (extension)": "tasklist",
    "Strikethrough (extension)": "strikethrough",
    "Autolinks (extension)": "autolink",
    "Disallowed Raw HTML (extension)": "tagfilter",
}


def examples(spec: str) -> list[dict]:
    text = re.sub(
        r"^<!-- END TESTS -->(.|\n)*", "", spec.replace("\r\n", "\n").replace("\r", "\n"), flags=re.M
    )
    found, section = [], ""
    for match in _EXAMPLE.finditer(text):
        if match[4] is not None:
            section = match[4]
            continue
        found.append({"markdown": match[2], "html": match[3], "section": section, "number": len(found) + 1})
    return found


def main(cmark_spec: str, gfm_spec: str) -> None:
    commonmark = examples(Path(cmark_spec).read_text(encoding="utf-8"))
    (HERE / "spec.json").write_text(
        json.dumps(commonmark, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    gfm = [
        {**e, "extension": _EXTENSION_SECTIONS[e["section"]]}
        for e in examples(Path(gfm_spec).read_text(encoding="utf-8"))
        if e["section"] in _EXTENSION_SECTIONS
    ]
    (HERE / "gfm-extensions.json").write_text(
        json.dumps(gfm, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{len(commonmark)} CommonMark examples, {len(gfm)} GFM extension examples")


if __name__ == "__main__":
    main(*sys.argv[1:])
