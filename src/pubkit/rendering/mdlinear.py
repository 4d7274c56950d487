"""Python-Markdown 3.11 with its quadratic paths replaced, for pubkit's own Markdown instance.

Each fix is installed on one `markdown.Markdown` object (`linearise(md)`); the module-level
classes of Python-Markdown are left as they are. The fixes keep Python-Markdown's output, they
only change how long it takes to get there:

- blocks: the block parser takes blocks from the front of a Python list (`pop(0)`,
  `insert(0, ...)`), one memmove of the whole list per block; a reversed list makes that O(1).
- tables: the table processor's test splits the whole block into lines each time it is asked,
  and a block of 20,000 headings is asked 20,000 times; it needs only the first rows.
- block tests: a processor that takes the first lines of a block (a heading, a rule, an
  abbreviation or footnote definition) puts the rest back, and every processor before it
  searches that rest again for its own kind of line (the heading's, the rule's, the quote's):
  20,000 abbreviations, rules or underlined headings in one block took minutes. A search of a
  block's rest is now answered from the search of the whole where it can be.
- brackets: links and images look for the `]` that closes each `[` by walking the rest of the
  paragraph, so 10,000 unclosed `[` walk it 10,000 times; the closing brackets of a text are
  now found once.
- inline: the inline tree processor finds each child by `list(parent).index(child)` and
  appends text to one growing string (an element's tail), both quadratic in a paragraph's
  parts (15,000 links, 25,000 inline tags).
- raw HTML: a start tag that no `>` ever closes (`<a <a <a ...`) makes the HTML parser scan
  to the end of the document once per `<`; where no `>` follows at all, a `<` is text at once.
- footnotes: a reference's number was found by `list(footnotes).index(id)`, each reference
  checked a list for earlier ones, the n-th call of one note tried n names for its id, and each
  `[^` that no `]` follows made the reference pattern scan to the end of the text.
- links: each `[a](` that no `)` closes walked to the end of the text, as brackets did.

Still quadratic (rare, and bounded by max_paragraph_kb and max_manuscript_kb, not fixed here):
thousands of start tags whose only `>` sit inside quoted values (`<a x=">"` repeated: the HTML
parser's scan of each reaches the end), unclosed `[a](` followed somewhere by a quote (the
walk that tracks a link title), and the rebuilding of a paragraph's text for each inline match.

Adapted from Python-Markdown (BSD licence, (c) 2007-2023 The Python Markdown Project).
"""

from __future__ import annotations

import sys
import types
import xml.etree.ElementTree as etree
from bisect import bisect_left
from collections import deque

import markdown
from markdown import util
from markdown.extensions.footnotes import RE_REF_ID, FootnoteExtension, FootnoteInlineProcessor
from markdown.extensions.tables import PIPE_LEFT, PIPE_NONE, PIPE_RIGHT, TableProcessor
from markdown.htmlparser import HTMLExtractor
from markdown.inlinepatterns import LinkInlineProcessor
from markdown.preprocessors import HtmlBlockPreprocessor
from markdown.treeprocessors import InlineProcessor


def linearise(md: markdown.Markdown) -> markdown.Markdown:
    """Install the fixes on `md` (built with pubkit's extensions); returns `md`."""
    md.parser.parseChunk = types.MethodType(_parse_chunk, md.parser)
    blocks = md.parser.blockprocessors
    if "table" in blocks:
        blocks["table"].test = types.MethodType(_table_test, blocks["table"])
    for name in _SEARCHING_TESTS:
        if name in blocks:
            _search_each_rest_once(blocks[name], name)
    for pattern in md.inlinePatterns:
        if isinstance(pattern, LinkInlineProcessor):
            pattern.getText = types.MethodType(_get_text, pattern)
            pattern.getLink = types.MethodType(_get_link, pattern)
        if isinstance(pattern, FootnoteInlineProcessor):
            pattern.handleMatch = types.MethodType(_footnote_match, pattern)
            pattern.compiled_re = _UpToLast(pattern.compiled_re, "]")
            _index_footnote_refs(pattern.footnotes)
    for item in list(md.treeprocessors._priority):  # "inline", and smarty's own
        processor = md.treeprocessors[item.name]
        if type(processor) is InlineProcessor:
            replacement = _InlineProcessor(md)
            replacement.inlinePatterns = processor.inlinePatterns
            md.treeprocessors.register(replacement, item.name, item.priority)
    md.preprocessors.register(_HtmlBlockPreprocessor(md), "html_block", 20)
    return md


# -- blocks --------------------------------------------------------------------------------


class _Blocks:
    """The block parser's list of blocks, stored last-first: what processors do at the front
    (`blocks[0]`, `pop(0)`, `insert(0, b)`) happens at the end of a Python list."""

    __slots__ = ("_reversed",)

    def __init__(self, blocks: list[str]):
        self._reversed = blocks[::-1]

    def __len__(self) -> int:
        return len(self._reversed)

    def __bool__(self) -> bool:
        return bool(self._reversed)

    def _at(self, index: int) -> int:
        size = len(self._reversed)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("block index out of range")
        return size - 1 - index

    def __getitem__(self, index: int) -> str:
        return self._reversed[self._at(index)]

    def __setitem__(self, index: int, block: str) -> None:
        self._reversed[self._at(index)] = block

    def __iter__(self):
        return reversed(self._reversed)

    def pop(self, index: int = -1) -> str:
        return self._reversed.pop(self._at(index))

    def insert(self, index: int, block: str) -> None:
        size = len(self._reversed)
        index = max(0, min(size, index + size if index < 0 else index))
        self._reversed.insert(size - index, block)

    def append(self, block: str) -> None:
        self._reversed.insert(0, block)


def _parse_chunk(self, parent: etree.Element, text: str) -> None:
    self.parseBlocks(parent, _Blocks(text.split("\n\n")))


# -- tables --------------------------------------------------------------------------------


def _table_test(self: TableProcessor, parent: etree.Element, block: str) -> bool:
    """TableProcessor.test, reading only the rows it needs: the header and separator rows (and,
    for a one-column table, the rows up to the first one without a pipe)."""
    first, newline, rest = block.partition("\n")
    if not newline:
        return False
    header0 = first.strip(" ")
    self.border = PIPE_NONE
    if header0.startswith("|"):
        self.border |= PIPE_LEFT
    if self.RE_END_BORDER.search(header0) is not None:
        self.border |= PIPE_RIGHT
    row0_len = len(self._split_row(header0))
    is_table = row0_len > 1
    if not is_table and row0_len == 1 and self.border:
        start = 0
        while True:  # each row in a single-column table needs at least one pipe
            end = rest.find("\n", start)
            line = (rest[start:] if end < 0 else rest[start:end]).strip(" ")
            is_table = line.startswith("|") or self.RE_END_BORDER.search(line) is not None
            if not is_table or end < 0:
                break
            start = end + 1
    if is_table:
        second = rest.partition("\n")[0].strip(" ")
        row = self._split_row(second)
        is_table = len(row) == row0_len and set("".join(row)) <= set("|:- ")
        if is_table:
            self.separator = row
    return is_table


# -- block tests ---------------------------------------------------------------------------

# Block processors whose test searches the whole block (by name: their regex attribute).
_SEARCHING_TESTS = {
    "hashheader": "RE",
    "hr": "SEARCH_RE",
    "deflist": "RE",
    "quote": "RE",
    "footnote": "RE",  # its test says yes to every block; its run searches and says no
    "abbr": "RE",  # likewise
}


class _RestSearch:
    """`regex.search(block)` for blocks that are often the rest of the block before (the same
    text without its first lines). Each of these regexes matches from the start of a line and
    looks no further back than that line, so in a rest that starts at a line of the whole:
    no match in the whole means none in the rest; a first match in the rest's part of the
    whole is the rest's first match."""

    def __init__(self, regex):
        self.regex = regex
        self.block: str | None = None
        self.start: int | None = None  # where the first match in `block` starts, or None

    def search(self, block: str):
        whole, start = self.block, self.start
        if whole is not None and len(block) <= len(whole) and whole.endswith(block):
            offset = len(whole) - len(block)
            if offset == 0 or whole[offset - 1] == "\n":
                if start is None:
                    self.block = block
                    return None
                if start >= offset:
                    match = self.regex.search(block, start - offset)
                    if match is not None and match.start() == start - offset:
                        self.block, self.start = block, match.start()
                        return match
        match = self.regex.search(block)
        self.block, self.start = block, (match.start() if match else None)
        return match


def _search_each_rest_once(processor, name: str) -> None:
    search = _RestSearch(getattr(processor, _SEARCHING_TESTS[name])).search

    if name == "hr":

        def test(parent, block):  # HRProcessor.test keeps its match for run()
            match = search(block)
            if match:
                processor.match = match
            return bool(match)

    elif name == "quote":

        def test(parent, block):  # as BlockQuoteProcessor.test
            return search(block) is not None and not util.nearing_recursion_limit()

    else:  # footnote and abbr: run() finds nothing where the search found nothing

        def test(parent, block):
            return search(block) is not None

    processor.test = test


# -- brackets ------------------------------------------------------------------------------


class _Closers:
    """For a text: where the brackets ([ ], or ( ) for links) opened at each position close,
    found in one pass.

    `close(i)` is the first position p >= i at which text[i:p+1] closes one bracket more than it
    opens: what LinkInlineProcessor.getText finds by counting from i (just after a `[`). It
    depends only on the text from i on, so it holds for a later version of the text that
    differs only before i (the inline processor replaces each match, left to right, by a
    placeholder and goes on after it)."""

    def __init__(self, text: str, pair: str = "[]"):
        self.text = text
        self.positions = [i for i, c in enumerate(text) if c in pair]
        closes: list[int | None] = [None] * (len(self.positions) + 1)
        for k in range(len(self.positions) - 1, -1, -1):
            if text[self.positions[k]] == pair[1]:
                closes[k] = k
            else:  # a "[" opens one more: its own close, then one more after it
                inner = closes[k + 1]
                closes[k] = None if inner is None else closes[inner + 1]
        self.closes = closes

    def serves(self, text: str, index: int) -> bool:
        """Whether `text` from `index` on is this text's end (which the answers depend on)."""
        if text is self.text:
            return True
        tail = len(text) - index
        return tail <= len(self.text) and text.endswith(self.text[len(self.text) - tail :])

    def close(self, text: str, index: int) -> int | None:
        shift = len(self.text) - len(text)
        k = self.closes[bisect_left(self.positions, index + shift)]
        return None if k is None else self.positions[k] - shift


def _get_text(self: LinkInlineProcessor, data: str, index: int) -> tuple[str, int, bool]:
    """LinkInlineProcessor.getText (the text between `[` and its `]`), without a walk per `[`."""
    closers = getattr(self, "_pubkit_closers", None)
    if closers is None or not closers.serves(data, index):
        closers = self._pubkit_closers = _Closers(data)
    end = closers.close(data, index)
    if end is None:
        return data[index:], len(data), False
    return data[index:end], end + 1, True


def _get_link(self: LinkInlineProcessor, data: str, index: int) -> tuple[str, str | None, int, bool]:
    """LinkInlineProcessor.getLink (the `(href "title")` after `[text]`). Its walk to the `)`
    that closes the `(` is quadratic for many unclosed `[a](`; where no quote follows (no title
    to track), the closing `)` is looked up instead, as brackets are."""
    match = self.RE_LINK.match(data, pos=index)
    if not match or match.group(1):
        return LinkInlineProcessor.getLink(self, data, index)
    start = match.end()
    quotes = getattr(self, "_pubkit_quotes", None)
    if quotes is None or quotes[0] is not data:
        quotes = self._pubkit_quotes = (data, max(data.rfind("'"), data.rfind('"')))
    if quotes[1] >= start:  # a title may follow: Python-Markdown's own walk
        return LinkInlineProcessor.getLink(self, data, index)
    closers = getattr(self, "_pubkit_parens", None)
    if closers is None or not closers.serves(data, start):
        closers = self._pubkit_parens = _Closers(data, "()")
    end = closers.close(data, start)
    if end is None:  # unclosed: the walk went to the end of the text
        return "", None, len(data), False
    return self.unescape(data[start:end]).strip(), None, end + 1, True


# -- inline --------------------------------------------------------------------------------


class _InlineProcessor(InlineProcessor):
    """InlineProcessor with linear bookkeeping: children by position, text gathered in lists."""

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        self.stashed_nodes = {}
        tree_parents = [] if ancestors is None else ancestors[:]
        self.parent_map = {c: p for p in tree.iter() for c in p}
        stack = deque([(tree, tree_parents)])
        self._InlineProcessor__build_ancestors(tree, tree_parents)
        handle_inline = self._InlineProcessor__handleInline
        process = self._process_placeholders
        while stack:
            current, parents = stack.popleft()
            self.ancestors = parents
            if current is not tree:
                self.ancestors.append(current.tag.lower())
            insert_queue = []
            position = 0
            while position < len(current):  # as `for child in current`, which goes by index
                child = current[position]
                if child.text and not isinstance(child.text, util.AtomicString):
                    self.ancestors.append(child.tag.lower())
                    text = child.text
                    child.text = None
                    lst = process(handle_inline(text), child)
                    for item in lst:
                        self.parent_map[item[0]] = child
                    stack.extend(lst)
                    insert_queue.append((child, lst))
                    self.ancestors.pop()
                if child.tail:
                    tail = handle_inline(child.tail)
                    dummy = etree.Element("d")
                    child.tail = None
                    tail_result = process(tail, dummy, False)
                    if dummy.tail:
                        child.tail = dummy.tail
                    for offset, new_child in enumerate(tail_result, start=position + 1):
                        self.parent_map[new_child[0]] = current
                        current.insert(offset, new_child[0])
                if len(child):
                    self.parent_map[child] = current
                    stack.append((child, self.ancestors[:]))
                position += 1
            for element, lst in insert_queue:
                for i, obj in enumerate(lst):
                    element.insert(i, obj[0])
        return tree

    # Nothing else should reach the private original, which appends text piece by piece.
    def _InlineProcessor__processPlaceholders(self, data, parent, isText=True):  # noqa: N802, N803
        return self._process_placeholders(data, parent, isText)

    def _element_text(self, node: etree.Element, subnode: etree.Element, is_text: bool, pos: int) -> int:
        """InlineProcessor.__processElementText, told where to insert (it searched for the
        position); returns how many elements it inserted into `node`."""
        if is_text:
            text, subnode.text = subnode.text, None
        else:
            text, subnode.tail = subnode.tail, None
        child_result = self._process_placeholders(text, subnode, is_text)
        for offset, new_child in enumerate(child_result, start=pos):
            node.insert(offset, new_child[0])
        return len(child_result)

    def _process_placeholders(
        self,
        data: str | None,
        parent: etree.Element,
        isText: bool = True,  # noqa: N803
    ) -> list[tuple[etree.Element, list[str]]]:
        """InlineProcessor.__processPlaceholders, gathering each run of text in a list and
        joining it once (Python-Markdown appends to an element's tail piece by piece)."""
        prefix = util.INLINE_PLACEHOLDER_PREFIX
        result: list[tuple[etree.Element, list[str]]] = []
        pending: list[str] = []

        def flush() -> None:
            if not pending:
                return
            text = pending[0] if len(pending) == 1 else "".join(pending)
            pending.clear()
            if result:
                target = result[-1][0]
                target.tail = target.tail + text if target.tail else text
            elif not isText:
                parent.tail = parent.tail + text if parent.tail else text
            else:
                parent.text = parent.text + text if parent.text else text

        def link_text(text: str | None) -> None:
            if text:
                pending.append(text)

        start = 0
        while data:
            index = data.find(prefix, start)
            if index == -1:
                text = data[start:]
                if isinstance(data, util.AtomicString):
                    text = util.AtomicString(text)
                link_text(text)
                break
            ident, end = self._InlineProcessor__findPlaceholder(data, index)
            if ident not in self.stashed_nodes:  # not a placeholder after all
                end = index + len(prefix)
                link_text(data[start:end])
                start = end
                continue
            node = self.stashed_nodes.get(ident)
            if index > 0:
                link_text(data[start:index])
            if isinstance(node, str):
                link_text(node)
                start = end
                continue
            flush()
            shift = 0  # elements inserted into `node` before the children listed here
            for position, child in enumerate([node, *node]):
                if child.tail and child.tail.strip():
                    # A child's tail goes after it (at position - 1 + shift + 1); the node's own
                    # tail, as in Python-Markdown, at the start of the node.
                    shift += self._element_text(node, child, False, 0 if child is node else position + shift)
                if child.text and child.text.strip():
                    inserted = self._element_text(child, child, True, 0)
                    shift += inserted if child is node else 0
            start = end
            result.append((node, self.ancestors[:]))
        flush()
        return result


# -- raw HTML ------------------------------------------------------------------------------


class _HTMLExtractor(HTMLExtractor):
    def reset(self):
        super().reset()
        self._pubkit_last_gt: tuple[str | None, int] = (None, -1)  # raw data, its last ">"

    def check_for_whole_start_tag(self, i: int) -> int:
        rawdata = self.rawdata
        seen, last_gt = self._pubkit_last_gt
        if seen is not rawdata:
            last_gt = rawdata.rfind(">")
            self._pubkit_last_gt = (rawdata, last_gt)
        if i > last_gt:
            # No ">" follows: no tag can end, this "<" is text. (The parser would scan to the
            # end of the document to find that out, once per "<".)
            return -1
        return super().check_for_whole_start_tag(i)


class _HtmlBlockPreprocessor(HtmlBlockPreprocessor):
    def run(self, lines: list[str]) -> list[str]:
        parser = _HTMLExtractor(self.md)
        parser.feed("\n".join(lines))
        parser.close()
        return "".join(parser.cleandoc).split("\n")


# -- footnotes -----------------------------------------------------------------------------


class _UpToLast:
    """A compiled pattern whose every match ends with `close`, searched only up to the text's
    last `close`: an attempt after it fails at once instead of reading to the end."""

    def __init__(self, regex, close: str):
        self.regex, self.close = regex, close

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize):
        return self.regex.finditer(string, pos, min(endpos, string.rfind(self.close) + 1))

    def __getattr__(self, name: str):
        return getattr(self.regex, name)


class _RefOrder(list):
    """FootnoteExtension.footnote_order with a set beside it: `id in order` without a scan."""

    def __init__(self, *args):
        super().__init__(*args)
        self.members = set(self)

    def __contains__(self, item) -> bool:
        return item in self.members

    def append(self, item) -> None:
        super().append(item)
        self.members.add(item)


def _index_footnote_refs(extension: FootnoteExtension) -> None:
    reset = extension.reset
    last: dict[str, str] = {}  # reference as made -> the last unique name it was given

    def reset_with_index() -> None:
        reset()
        extension.footnote_order = _RefOrder()
        last.clear()

    def unique_ref_from_last(reference: str, found: bool = False) -> str:
        """FootnoteExtension.unique_ref, which tries fnref-1, fnref2-1, fnref3-1 ... until one
        is free: 10,000 tries for the 10,000th call of one note. Those it tried before are
        still taken, so it goes on from the last one it gave: the same names."""
        if not found:
            return reference
        separator = extension.get_separator()
        candidate = last.get(reference, reference)
        while candidate in extension.used_refs:
            ref, rest = candidate.split(separator, 1)
            match = RE_REF_ID.match(ref)
            numbered = f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"{ref}2"
            candidate = f"{numbered}{separator}{rest}"
        extension.used_refs.add(candidate)
        extension.found_refs[reference] = extension.found_refs.get(reference, 0) + 1
        last[reference] = candidate
        return candidate

    extension.reset = reset_with_index
    extension.unique_ref = unique_ref_from_last
    extension.footnote_order = _RefOrder(extension.footnote_order)


def _footnote_match(self: FootnoteInlineProcessor, m, data: str):
    """FootnoteInlineProcessor.handleMatch with the footnote's number looked up, not searched."""
    footnotes = self.footnotes
    ident = m.group(1)
    if ident not in footnotes.footnotes:
        return None, None, None
    footnotes.addFootnoteRef(ident)
    if not footnotes.getConfig("USE_DEFINITION_ORDER"):
        number = footnotes.footnote_order.index(ident) + 1  # reference order: not pubkit's
    else:  # definition order: all footnotes are defined (blocks) before any is referenced (inline)
        defined, count, numbers = getattr(self, "_pubkit_numbers", (None, 0, {}))
        if defined is not footnotes.footnotes or count != len(defined):
            defined, count = footnotes.footnotes, len(footnotes.footnotes)
            numbers = {name: n for n, name in enumerate(defined, start=1)}
            self._pubkit_numbers = (defined, count, numbers)
        number = numbers[ident]
    sup = etree.Element("sup")
    a = etree.SubElement(sup, "a")
    sup.set("id", footnotes.makeFootnoteRefId(ident, found=True))
    a.set("href", "#" + footnotes.makeFootnoteId(ident))
    a.set("class", "footnote-ref")
    a.text = footnotes.getConfig("SUPERSCRIPT_TEXT").format(number)
    return sup, m.start(0), m.end(0)
