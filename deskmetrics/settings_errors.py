"""What is wrong with a settings file, in its own words: every error pydantic found, each
as `key: what is wrong`, a misspelt key with the nearest real one.

pydantic's own messages speak of its models ("Extra inputs are not permitted", a path
with the `type` tag of a source in it); a user edits a TOML file, so each error names the
file's key and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from difflib import get_close_matches

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails


def settings_problems(
    bad: ValidationError,
    root: type[BaseModel],
    source_models: Mapping[str, type[BaseModel]],
) -> list[str]:
    """Each error of `bad` as `key: what is wrong`. `root` is
    the model of the whole file; `source_models` the model of each source `type`."""
    return [_problem(error, root, source_models) for error in bad.errors()]


def _problem(
    error: ErrorDetails, root: type[BaseModel], source_models: Mapping[str, type[BaseModel]]
) -> str:
    loc = list(error["loc"])
    kind = error["type"]
    if kind == "union_tag_invalid":
        given = error["input"].get("type") if isinstance(error["input"], dict) else None
        types = ", ".join(repr(t) for t in source_models)
        return f"{_key([*loc, 'type'])}: unknown source type {given!r}: use one of {types}"
    tag = None  # a source's type, whose model has its keys
    if loc[:1] == ["sources"] and len(loc) >= 3:
        tag = str(loc.pop(2))  # the `type` tag pydantic puts in the path: not a key of the file
    if kind != "extra_forbidden":
        return f"{_key(loc)}: {error['msg'].removeprefix('Value error, ')}"
    if tag is None:
        known, where = _keys_at(root, loc), ""
    else:
        source = source_models.get(tag)
        known, where = list(source.model_fields if source else ()), f" of a {tag} source"
    nearest = get_close_matches(str(loc[-1]), known, n=1)
    hint = f" (did you mean {nearest[0]!r}?)" if nearest else ""
    return f"{_key(loc)}: not a setting{where}{hint}"


def _keys_at(root: type[BaseModel], loc: Sequence[object]) -> list[str]:
    """The keys the file may have beside the last part of `loc`, from the file's model."""
    model = root
    for part in loc[:-1]:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _key(loc: Sequence[object]) -> str:
    return ".".join(str(part) for part in loc)
