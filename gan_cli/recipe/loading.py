"""Loading: a recipe file and ``--set`` overrides become a validated Recipe; the entry points other packages use.

Contract: :func:`load_recipe` reads one recipe file through a hardened YAML loader (``yaml.safe_load`` semantics,
plus the size, alias, expansion and depth limits of ``gan_cli.recipe.schema``, no tags, no duplicate keys),
merges its ``extends:`` chain base-first (a path relative to the extending recipe, a ``NAME.yaml`` beside it, or
a shipped recipe's name), applies each ``--set KEY=VALUE`` in order (VALUE parsed as YAML), records in
``Origins`` which file or ``--set`` wrote each key, names an unnamed recipe after its file, and hands the result
to ``gan_cli.recipe.validation``. :func:`parse_recipe` validates a mapping already in memory. Every failure is a
``RecipeError`` of one line (``OverrideSyntaxError`` for a malformed ``--set``). No TensorFlow.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from gan_cli.errors import OverrideSyntaxError, RecipeError
from gan_cli.recipe import shipped as shipped_recipes
from gan_cli.recipe.schema import (
    GENERIC_STEMS,
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_EXTENDS,
    MAX_RECIPE_BYTES,
    Recipe,
)
from gan_cli.recipe.shipped import MAX_NAME_LENGTH
from gan_cli.recipe.validation import Origins, describe, one_line_errors, validate_recipe


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Load, merge (``extends:``), override (``--set``) and validate a recipe file.

    Args:
        path: the recipe's YAML file.
        overrides: ``KEY=VALUE`` strings; KEY is a dotted path, VALUE is parsed as YAML.

    Returns:
        The validated, frozen Recipe.

    Raises:
        RecipeError: one line naming the file (or the ``--set``), key path, bad value and choices.
    """
    with one_line_errors():
        path = Path(path)
        origins = Origins()
        raw = _load_with_extends(path, origins, chain=())
        for text in overrides:
            _apply_override(raw, text, origins)
        stem = path.stem if path.stem not in GENERIC_STEMS else path.resolve().parent.name
        raw.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".-")[:MAX_NAME_LENGTH])
        return validate_recipe(raw, str(path), origins)


def parse_recipe(data: Mapping[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate an already-parsed recipe mapping (no ``extends:``). Raises RecipeError."""
    return validate_recipe(dict(data), source)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_RECIPE_BYTES + 1)  # bounded: /dev/zero or a huge file cannot fill memory
    except FileNotFoundError:
        raise RecipeError(f"{path}: recipe file not found") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: is a directory, not a recipe file") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror or exc})") from None
    if len(content) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{path}: recipe file is larger than the limit of {MAX_RECIPE_BYTES:,} bytes "
                          f"({MAX_RECIPE_BYTES // 2**20} MiB); a recipe is a short YAML file")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a text file (recipes are UTF-8 YAML)") from None
    data = _parse_yaml(text, str(path))
    if data is None:  # an empty file, only comments, or a bare null
        raise RecipeError(f"{path}: empty recipe (no sections); write its sections (data, generator, train, ...), "
                          "{} for every default, or start from a shipped one: gan recipes new NAME --from digits_gan")
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping of sections, got "
                          f"{type(data).__name__}")
    return data


def _parse_yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load`` with the loader's limits; every YAML problem becomes one RecipeError line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a yaml.SafeLoader with duplicate-key and size limits
    except yaml.YAMLError as exc:
        raise RecipeError(f"{origin}: {_yaml_problem(exc)}") from None
    except RecursionError:  # pragma: no cover - the depth limit stops nesting long before this
        raise RecipeError(f"{origin}: not valid YAML: nested too deeply") from None


#: PyYAML's SafeLoader's words for a tag it has no constructor for (!!python/object/apply:os.system, !foo).
_UNKNOWN_TAG = r"could not determine a constructor for the tag '(.*)'"


def _is_refusal(exc: yaml.YAMLError) -> bool:
    """Whether a YAML error is one of the loader's limits or a refused tag (not a mere syntax error)."""
    return isinstance(exc, _LimitError) or bool(re.fullmatch(_UNKNOWN_TAG, str(getattr(exc, "problem", "")), re.S))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where, what, and for a refused tag, that tags are not allowed."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = str(getattr(exc, "problem", None) or "invalid YAML")
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, e.g. NUL, anywhere in the text
        character = exc.character if isinstance(exc.character, int) else ord(exc.character or "\0")
        where = f" at character {exc.position + 1}"
        problem = f"character U+{character:04X} is not allowed ({exc.reason})"
    if isinstance(exc, _LimitError):
        return f"refused{where}: {problem}"
    tag = re.fullmatch(_UNKNOWN_TAG, problem, re.S)
    if tag:
        name = re.sub(r"^tag:yaml\.org,2002:", "!!", tag.group(1))[:80]  # already escaped (PyYAML's %r)
        problem = (f"tag '{name}' is not allowed (recipes hold only plain YAML values: mappings, lists, "
                   "strings, numbers, true/false and null)")
    return f"not valid YAML{where}: {problem}"


class _LimitError(yaml.YAMLError):
    """A document over one of the loader's limits (aliases, expanded size, nesting)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` semantics, but a key given twice in one mapping is an error, and a document may
    use at most MAX_ALIASES aliases, expand to at most MAX_EXPANDED_NODES nodes and nest at most MAX_DEPTH
    levels, so a "billion laughs" document (aliases of aliases, exponentially large once constructed) or a
    recursive one is refused while it is composed, before anything is built from it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):  # type: ignore[no-untyped-call]
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _LimitError(f"more than {MAX_ALIASES} YAML aliases (*name); a recipe needs few or none",
                                  self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _LimitError(f"lists and mappings nested more than {MAX_DEPTH} levels deep",
                                  self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= 1

    def compose_document(self) -> Any:
        node = super().compose_document()  # type: ignore[no-untyped-call]
        _check_expansion(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[no-untyped-call]
        except yaml.YAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors on odd scalars: 2020-13-45, !!bool maybe, !!float x
            value = describe(node.value) if isinstance(node, yaml.ScalarNode) else "the value"
            why = f" ({describe(str(exc))[1:-1]})" if isinstance(exc, ValueError) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {value} as {node.tag.rsplit(':', 1)[-1]}{why}", node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # <<: *base, resolved by SafeLoader below
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # a list or mapping as a key
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {describe(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = super().construct_yaml_int(node)  # type: ignore[no-untyped-call]
        if abs(value).bit_length() > 64:
            raise yaml.constructor.ConstructorError(
                None, None, "integer too large (more than 64 bits)", node.start_mark)
        return typing.cast(int, value)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _check_expansion(root: yaml.Node | None) -> None:
    """Refuse a node graph that is recursive, or whose size or depth with every alias expanded exceeds the
    limits. Iterative and memoized, so it costs one visit per distinct node however large the expansion."""
    if root is None:
        return
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded depth)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        if finished:
            open_nodes.discard(id(node))
            size = 1 + sum(done[id(c)][0] for c in children)
            depth = 1 + max((done[id(c)][1] for c in children), default=0)
            if size > MAX_EXPANDED_NODES:
                raise _LimitError(f"the YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                                  "(a \"billion laughs\" document?)", node.start_mark)
            if depth > MAX_DEPTH:
                raise _LimitError(f"the YAML aliases nest lists and mappings more than {MAX_DEPTH} levels deep",
                                  node.start_mark)
            done[id(node)] = (size, depth)
        elif id(node) not in done:
            if id(node) in open_nodes:
                raise _LimitError("a YAML alias refers to a list or mapping that contains it (a recursive "
                                  "structure)", node.start_mark)
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children)


def _load_with_extends(path: Path, origins: Origins, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise RecipeError(f"{path}: extends: recipes extend each other in a cycle ({cycle})")
    if len(chain) >= MAX_EXTENDS:
        raise RecipeError(f"{path}: extends: more than {MAX_EXTENDS} recipes extend each other in a chain")
    data = _read_yaml(path)
    base_name = data.pop("extends", None)
    merged: dict[str, Any] = {}
    if base_name is not None:
        if not isinstance(base_name, str):
            raise RecipeError(f"{path}: extends: expected a path to another recipe, got {describe(base_name)}")
        base_path = (path.parent / base_name) if not Path(base_name).is_absolute() else Path(base_name)
        try:
            found = base_path.is_file()
        except OSError:  # e.g. a name too long for the file system
            found = False
        if not found and shipped_recipes.is_recipe_name(base_name):  # extends: mnist_gan, a shipped recipe
            names = shipped_recipes.shipped_names()
            # else NAME.yaml (or .yml) beside this recipe: extends: my_base for my_base.yaml
            siblings = [path.parent / f"{base_name}{suffix}" for suffix in shipped_recipes.RECIPE_SUFFIXES]
            sibling = next((p for p in siblings if p.is_file()), None)
            if base_name in names:
                base_path, found = shipped_recipes.shipped_path(base_name), True
            elif sibling is not None:
                base_path, found = sibling, True
            else:
                raise RecipeError(f"{path}: extends: {describe(base_name)} is neither a file next to this recipe "
                                  f"(looked for {base_name}, {base_name}.yaml and {base_name}.yml) nor a shipped "
                                  f"recipe; shipped recipes: {', '.join(names)}")
        if not found:
            raise RecipeError(f"{path}: extends: {describe(base_name)} not found (looked for "
                              f"{describe(str(base_path))[1:-1]}; paths are relative to the recipe that extends; "
                              "a shipped recipe is named without .yaml: gan recipes list)")
        merged = _load_with_extends(base_path, origins, (*chain, resolved))
    _deep_merge(merged, data, origins, str(path), "")
    return merged


def _deep_merge(into: dict[str, Any], update: Mapping[str, Any], origins: Origins,
                origin: str, prefix: str) -> None:
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, origins, origin, f"{dotted}.")
        else:
            into[key] = _copy_plain(value)
            origins.record(dotted, origin)


def _copy_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_plain(v) for v in value]
    return value


def _apply_override(raw: dict[str, Any], text: str, origins: Origins) -> None:
    key, sep, value_text = text.partition("=")
    key = key.strip()
    origin = f"--set {text}" if len(text) <= 120 else f"--set {text[:100]}..."
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise OverrideSyntaxError(f"--set {describe(text)}: expected KEY=VALUE with a dotted key, "
                          "e.g. --set train.batch_size=64")
    if len(value_text) > MAX_RECIPE_BYTES:
        raise RecipeError(f"--set {key}=...: the value is longer than the limit of {MAX_RECIPE_BYTES:,} "
                          "characters")
    try:
        value = yaml.load(value_text, Loader=_StrictLoader) if value_text.strip() else None
    except yaml.YAMLError as exc:
        if _is_refusal(exc):  # limits and tags: never read as a string
            raise RecipeError(f"{origin}: {_yaml_problem(exc)}") from None
        value = value_text  # not YAML, so plain text: --set data.path=a:b
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise RecipeError(f"{origin}: {'.'.join(parts[: i + 1])} is a value, not a section, so it "
                              f"has no key {parts[i + 1]!r}")
        node = child
    if isinstance(value, Mapping) and isinstance(node.get(parts[-1]), dict):
        _deep_merge(node[parts[-1]], value, origins, origin, f"{key}.")
    else:
        node[parts[-1]] = value
        origins.record(key, origin)
