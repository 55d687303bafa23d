"""A YAML reader for files a user hands us: PyYAML's safe loader with limits.

PyYAML's ``safe_load`` refuses arbitrary objects but still accepts three things a spec never
needs and an attacker (or a typo) can use: aliases that expand a kilobyte into gigabytes
("billion laughs"), nesting deep enough to exhaust the interpreter's stack, and duplicate keys,
of which the last silently wins. :func:`load_yaml` refuses all three with a
:class:`YamlLimitError` that carries the line, as PyYAML's own errors do.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Deepest nesting of lists and mappings accepted; a site spec is under ten levels deep.
MAX_DEPTH = 64
#: Most nodes that aliases may add to a document when expanded (the document's own nodes
#: do not count): generous for anchors reused in a spec, far below what a bomb asks.
MAX_ALIAS_NODES = 100_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document breaks one of the limits above, or repeats a key.

    ``problem`` is the whole message, ending with the line and column.
    """

    def __init__(self, problem: str, mark: Any) -> None:  # a yaml Mark, pure-Python or C
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        super().__init__(problem=problem + where, problem_mark=mark)


class LimitedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts nesting depth and alias expansion, and refuses
    duplicate keys, while composing the node graph (before any Python object is built)."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes in it once aliases are expanded

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            event: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise YamlLimitError(
                        f"alias *{event.anchor} refers to the node that contains it", event.start_mark
                    )
                self._alias_nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise YamlLimitError(
                        f"aliases expand the document beyond {MAX_ALIAS_NODES:,} nodes "
                        f"(at alias *{event.anchor}); refused as an alias bomb",
                        event.start_mark,
                    )
            alias: Node = super().compose_node(parent, index)  # type: ignore[assignment]
            return alias
        self._depth += 1
        if self._depth > MAX_DEPTH:
            start = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels", start)
        node: Node = super().compose_node(parent, index)  # type: ignore[assignment]
        self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in _children(node))
        if isinstance(node, MappingNode):
            self._refuse_duplicate_keys(node)
        return node

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        first: dict[Any, Mark] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            try:
                seen = first.get(key)
            except TypeError:  # unhashable: the constructor reports it
                continue
            if seen is not None:
                raise YamlLimitError(
                    f"duplicate key {key!r} (first at line {seen.line + 1})",
                    key_node.start_mark,
                )
            first[key] = key_node.start_mark


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str | bytes) -> Any:
    """Parse one YAML document with :class:`LimitedSafeLoader`."""
    loader = LimitedSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
