"""Reading a scheme file safely: its encoding, its YAML, and the line of every key.

A scheme is data a researcher edits: it is parsed with PyYAML's safe loader (never a tag that
builds an object or runs code), and bounded before it is built, so that a hostile or broken file
gets an error instead of a hang or a crash:

* at most :data:`MAX_DEPTH` levels of nesting (a file nested thousands deep would overflow
  Python's stack), checked on the event stream before anything is built;
* at most :data:`MAX_NODES` values once anchors and aliases (``&name`` / ``*name``) are expanded
  (a "billion laughs" file of 1 KB expands to billions), counted on the composed graph with each
  shared part counted once per use, without expanding it;
* at most :data:`MAX_BYTES` bytes of text.

A file saved by Chinese-locale software in GBK/GB18030 is read as such (and the scheme records a
notice); anything else that is not UTF-8 is an error that says how to fix it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import Notice, SchemeError

MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_BYTES = 5_000_000


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key (for error messages)."""


class _Lines(dict):
    """A dict that also knows the line of each key."""

    def __init__(self, data, lines):
        super().__init__(data)
        self.lines = lines


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)  # merge keys (<<: *defaults) into the mapping
    mapping, lines = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, int | float) and not isinstance(key, bool):
            key = str(key)  # unit ids such as 140502 are text
        if not isinstance(key, str | bool) and key is not None:
            raise SchemeError(f"a key must be a name, not {key!r}", line=key_node.start_mark.line + 1)
        if key in mapping:
            raise SchemeError(f"duplicate key {key!r}; each key may appear once in a mapping",
                              line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    return _Lines(mapping, lines)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_text(path: Path, notices: list) -> str:
    """The text of a scheme file: UTF-8 (with or without BOM), else GB18030 with a notice."""
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.y*ml"))
        hint = f" (it holds {', '.join(inside)})" if inside else ""
        raise SchemeError(f"{path} is a folder, not a scheme file{hint}; give the path of the "
                          ".yaml file itself", source=str(path))
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SchemeError(f"the file is {size:,} bytes; a scheme is at most {MAX_BYTES:,} bytes",
                          source=str(path))
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        utf8_error = err
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        line = raw[:utf8_error.start].count(b"\n") + 1
        raise SchemeError(f"the file is neither UTF-8 nor GBK/GB18030 (byte {utf8_error.start} "
                          "cannot be read); save it as UTF-8 (in most editors: Save As, encoding "
                          "UTF-8)", source=str(path), line=line) from None
    notices.append(Notice("scheme_encoding", "the scheme file is not UTF-8; it was read as "
                          "GBK/GB18030. Save it as UTF-8 to silence this notice", str(path.name)))
    return text


def _check_events(text: str, source: str | None) -> None:
    """Bound the nesting depth on the event stream (iterative: no recursion)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SchemeError(f"the YAML is nested more than {MAX_DEPTH} levels deep; a "
                                      "scheme never needs that many (check the indentation)",
                                      source=source, line=event.start_mark.line + 1)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # reported with its line when the file is composed


def _expanded_size(node: yaml.Node, memo: dict) -> int:
    """Number of values in the document with every alias expanded (memoised per node)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once (the constructor refuses it anyway)
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        total = 1
    memo[key] = total
    return total


def parse_yaml(text: str, source: str | None = None) -> tuple[dict, dict[str, int]]:
    """Parse scheme YAML safely; return the plain dict and a map of key path -> line.

    Raises
    ------
    SchemeError
        Malformed YAML (with its line), a language tag (``!!python/...``: refused, never run),
        nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_NODES` values once aliases
        are expanded, or a document that is not a mapping.
    """
    _check_events(text, source)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            size = _expanded_size(node, {})
            if size > MAX_NODES:
                raise SchemeError(f"the YAML expands to {size:,} values through its anchors and "
                                  f"aliases (&name / *name); a scheme has at most {MAX_NODES:,}",
                                  source=source)
        raw = loader.construct_document(node) if node is not None else None
    except SchemeError as exc:
        if exc.source:
            raise
        raise SchemeError(str(exc).split(": ", 1)[-1], source=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = str(getattr(exc, "problem", None) or exc)
        hint = ("a scheme is plain data: language tags such as !!python/... are refused and never "
                "run" if "constructor for the tag" in problem else
                "check indentation, colons and quotes")
        raise SchemeError(f"malformed YAML: {problem}; {hint}", source=source, line=line) from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise SchemeError("a scheme must be a YAML mapping (key: value lines)", source=source)
    lines: dict[str, int] = {}
    return _collect_lines(raw, "", lines), lines


def _collect_lines(obj: Any, prefix: str, out: dict[str, int]) -> Any:
    """Turn line-aware dicts into plain dicts, recording ``dotted.path -> line``."""
    if isinstance(obj, dict):
        plain = {}
        for k, v in obj.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(obj, _Lines):
                out[path] = obj.lines[k]
            plain[k] = _collect_lines(v, path, out)
        return plain
    if isinstance(obj, list):
        return [_collect_lines(v, f"{prefix}[{i}]", out) for i, v in enumerate(obj)]
    return obj
