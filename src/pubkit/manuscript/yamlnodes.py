"""YAML to Python values, keeping the line of every value for diagnostics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

# One loader instance turns scalar nodes into values (int, bool, date, ...) with
# YAML's own resolution rules; we walk mappings and sequences ourselves so that
# each value keeps its line and duplicate keys are reported instead of dropped.
_SCALARS = yaml.SafeLoader("")


class YamlSyntaxError(Exception):
    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class Located:
    """Python values of a YAML document plus the 1-based line of each path."""

    value: object
    lines: dict[tuple, int] = field(default_factory=dict)
    quoted: dict[tuple, bool] = field(default_factory=dict)
    duplicates: list[tuple[tuple, int]] = field(default_factory=list)

    def line(self, path: tuple, default: int) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), default)


def parse(text: str, first_line: int) -> Located:
    """Parse one YAML document; `first_line` is the file line of the text's first line."""
    try:
        _refuse_aliases_and_depth(text, first_line)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and "end of stream" in problem:
            # e.g. an unclosed quote: the stream ends far away, the mistake is where it began
            mark = exc.context_mark
            problem = f"{exc.context.removeprefix('while scanning ')} opened here is never closed"
        line = first_line + (mark.line if mark else 0)
        raise YamlSyntaxError(line, f"invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control, U+FFFF)
        line = first_line + text.count("\n", 0, max(exc.position, 0))
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise YamlSyntaxError(line, f"invalid YAML: character {char} is not allowed") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "mark", None)
        line = first_line + (mark.line if mark else 0)
        raise YamlSyntaxError(line, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    located = Located(None)
    if node is None:
        return located
    located.value = _walk(node, (), located, first_line)
    return located


MAX_DEPTH = 20


def _refuse_aliases_and_depth(text: str, first_line: int) -> None:
    """Front matter is a few keys: aliases (the 'billion laughs' of YAML, which expand on
    every use) and deep nesting (the composer recurses) have no place in it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise YamlSyntaxError(
                first_line + event.start_mark.line, f"YAML aliases (*{event.anchor}) are not allowed"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = first_line + event.start_mark.line
                raise YamlSyntaxError(line, f"invalid YAML: nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _walk(node: yaml.Node, path: tuple, out: Located, first_line: int) -> object:
    out.lines[path] = first_line + node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            # A key is text as written (`on:` is 'on', `~:` is '~', not True or None); a list or
            # mapping used as a key (`? [a, b]`) is shown as written, and reported as unknown.
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else _flow(key_node)
            if key in result:
                out.duplicates.append((path + (key,), first_line + key_node.start_mark.line))
            result[key] = _walk(value_node, path + (key,), out, first_line)
            out.lines[path + (key,)] = first_line + key_node.start_mark.line
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), out, first_line) for i, item in enumerate(node.value)]
    out.quoted[path] = node.style in ("'", '"')
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> object:
    try:
        value = _SCALARS.construct_object(node, deep=True)
    except Exception:  # noqa: BLE001 - PyYAML's constructors raise ValueError, AttributeError, ...
        # e.g. 2026-13-45 matches YAML's timestamp pattern but is no date, `!!timestamp x`
        # matches nothing: keep the text, and let validation say what is wrong with it.
        return node.value
    finally:  # the loader remembers every node it constructed (and one it failed on): forget them
        _SCALARS.constructed_objects.clear()
        _SCALARS.recursive_objects.clear()
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        # 0xfff... or 1:2:3:... of thousands of digits: Python cannot even print it
        # (int_max_str_digits); as text it is what was written, and validation judges that.
        return node.value
    if isinstance(value, str) and _SURROGATE.search(value):
        value = _join_surrogate_pairs(value)
    return value


# Python refuses str() of an int of more than 4,300 digits; 14,000 bits is about 4,200.
_MAX_INT_BITS = 14_000
_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogate_pairs(text: str) -> str:
    """`"\\uD83D\\uDE00"` (JSON's way to write an emoji) is two UTF-16 halves in YAML; join
    each pair into its character. A lone half stays, for validation to refuse."""
    return re.sub(
        "[\ud800-\udbff][\udc00-\udfff]",
        lambda m: m[0].encode("utf-16-le", "surrogatepass").decode("utf-16-le"),
        text,
    )


def _flow(node: yaml.Node) -> str:
    """A collection node as flow-style text: `? [a, b]: c` has the key '[a, b]'."""
    if isinstance(node, yaml.MappingNode):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in node.value) + "}"
    if isinstance(node, yaml.SequenceNode):
        return "[" + ", ".join(_flow(item) for item in node.value) + "]"
    return str(node.value)
