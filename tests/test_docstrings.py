"""The API reference's source: every name of `poolbars.__all__` has a docstring with a
summary, its arguments exactly as its signature has them, what it raises and an example
that runs; so do the public methods and properties of its classes (bar the example).
griffe (the parser mkdocstrings uses) reads them all without a warning: the site's
strict build fails on one. Every example runs as typed into a notebook cell or a REPL —
`python -c`, so no script is re-imported and no `__main__` guard is needed — in a fresh
interpreter, in a temporary directory, with stderr a pipe (so views are plain lines)."""

from __future__ import annotations

import logging
import os
import pathlib
import re
import subprocess
import sys

import griffe
import pytest

import poolbars

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
# classes the API returns without naming them in __all__: their docs are held the same
REACHED = {
    "poolbars.handle.MapHandle": "what Pool.map_async and pb.map(block=False) return",
    "poolbars.record.report.RunReport": "what Pool.report() returns",
    "poolbars.record.report.TaskRecord": "a RunReport's tasks",
    "poolbars.record.report.WorkerRecord": "a RunReport's workers",
    "poolbars.progress.commands.CommandResult": "what Pool.run_commands returns",
}

# callables that take parameters yet have no Raises section, each with why
NO_RAISES = {
    "poolbars.Failure": "a record poolbars fills for you to read",
    "poolbars.Stats": "a record poolbars fills for you to read",
    "poolbars.Bar.event": "builds a record of the bar's fields",
    "poolbars.Bar.update": "the hot path: one addition, never raises",
    "poolbars.Bar.set_description": "any value is shown as its str()",
    "poolbars.Bar.set_postfix": "any value is shown as its str()",
    "poolbars.Bar.reset": "sets numbers only",
    "poolbars.tqdm.update": "as Bar.update",
    "poolbars.tqdm.clear": "does nothing (tqdm's API)",
    "poolbars.tqdm.set_description_str": "as Bar.set_description",
    "poolbars.tqdm.set_postfix_str": "any value is shown as text",
    "poolbars.tqdm.write": "print()'s own errors only",
    "poolbars.message": "any value is shown as its str()",
    "poolbars.Remote": "made by pb.connect(), which checks what it is given",
    "poolbars.handle.MapHandle": "made by the pool, which checks what it is given",
    "poolbars.record.report.RunReport": "a record poolbars fills for you to read",
    "poolbars.record.report.TaskRecord": "a record poolbars fills for you to read",
    "poolbars.record.report.WorkerRecord": "a record poolbars fills for you to read",
    "poolbars.progress.commands.CommandResult": "a record poolbars fills for you to read",
    "poolbars.handle.MapHandle.add_done_callback": "it calls fn, whatever fn is",
    "poolbars.Remote.message": "any value is shown as its str()",
    "poolbars.Panel.close": "the status is written as given; closing again does nothing",
    "poolbars.Worker.setup": "a hook you write: what it raises retires its worker",
}
# examples that cannot run on their own, each with why (a small minority)
NOT_RUN: dict[str, str] = {}
FENCED = re.compile(r"```python\n(.*?)```", re.S)


class Warnings(logging.Handler):
    """What griffe logs while it reads the docstrings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _documented() -> tuple[dict[str, griffe.Object], dict[str, griffe.Object], list[str]]:
    """(the public names, the public members of their classes and the REACHED classes
    with theirs, griffe's warnings), every docstring parsed as mkdocstrings parses it."""
    logger, caught = logging.getLogger("griffe"), Warnings()
    logger.addHandler(caught)
    try:
        package = griffe.load("poolbars", search_paths=[str(SRC)],
                              docstring_parser="google")
        names = {f"poolbars.{name}": _target(package[name]) for name in poolbars.__all__}
        reached = {path: package[path.removeprefix("poolbars.")] for path in REACHED}
        members = {f"{path}.{name}": member
                   for path, obj in {**names, **reached}.items() if obj.is_class
                   for name, member in obj.members.items()
                   if not name.startswith("_") and _shown(member)}
        for obj in [*names.values(), *reached.values(), *members.values()]:
            if obj.docstring is not None:
                obj.docstring.parsed  # parsing is what logs the warnings
    finally:
        logger.removeHandler(caught)
    return names, {**reached, **members}, caught.messages


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    """What a name re-exported by the package stands for."""
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def _shown(member: griffe.Object) -> bool:
    """A method or a property: what the reference lists under its class."""
    return member.is_function or "property" in member.labels or (
        member.is_attribute and member.docstring is not None)


NAMES, MEMBERS, WARNINGS = _documented()


def _sections(obj: griffe.Object, kind: str) -> list[griffe.DocstringSection]:
    return [section for section in obj.docstring.parsed if section.kind.value == kind]


def _examples(obj: griffe.Object) -> list[str]:
    """The fenced python blocks of `obj`'s `Example:` section (griffe reads it as an
    admonition of kind "example"; `Examples:` as an examples section)."""
    texts = [section.value.description for section in _sections(obj, "admonition")
             if section.value.annotation == "example"]
    texts += [text for section in _sections(obj, "examples") for _, text in section.value]
    return [code for text in texts for code in FENCED.findall(text)]


def _parameters(obj: griffe.Object) -> list[str]:
    """The parameters a caller gives: `*args`/`**kwargs` by their starred names."""
    star = {"variadic positional": "*", "variadic keyword": "**"}
    return [star.get(p.kind.value, "") + p.name for p in obj.parameters
            if p.name not in ("self", "cls")]


def _documented_args(obj: griffe.Object) -> list[str]:
    """The arguments `obj`'s docstring names; a record's fields as its Attributes."""
    kinds = ("parameters", "attributes") if "dataclass" in obj.labels else ("parameters",)
    return [p.name for kind in kinds for section in _sections(obj, kind)
            for p in section.value]


def _callable(obj: griffe.Object) -> bool:
    exception = obj.is_class and any(str(base) in ("Exception", "TaskFailed")
                                     for base in obj.bases)
    return (obj.is_function or obj.is_class) and not exception


CALLABLES = {path: obj for path, obj in {**NAMES, **MEMBERS}.items() if _callable(obj)}
EXAMPLES = [(path, index, code) for path, obj in {**NAMES, **MEMBERS}.items()
            if obj.docstring is not None
            for index, code in enumerate(_examples(obj))]


def test_the_reference_covers_every_public_name():
    assert set(NAMES) == {f"poolbars.{name}" for name in poolbars.__all__}
    assert len(MEMBERS) > 40 and "poolbars.Pool.map" in MEMBERS


def test_griffe_reads_the_docstrings_without_a_warning():
    assert not WARNINGS, "\n".join(WARNINGS)


@pytest.mark.parametrize("path", sorted({**NAMES, **MEMBERS}))
def test_a_docstring_with_a_summary(path):
    obj = {**NAMES, **MEMBERS}[path]
    assert obj.docstring is not None, f"{path} has no docstring"
    summary = obj.docstring.value.strip().splitlines()[0]
    assert summary.endswith(".") and len(summary) <= 100, f"{path}: summary {summary!r}"


@pytest.mark.parametrize("path", sorted(NAMES))
def test_every_public_name_has_an_example(path):
    assert _examples(NAMES[path]), f"{path}: no Example section with a ```python block"


@pytest.mark.parametrize("path", sorted(CALLABLES))
def test_every_argument_is_documented_as_the_signature_has_it(path):
    obj = CALLABLES[path]
    given, documented = _parameters(obj), _documented_args(obj)
    assert sorted(documented) == sorted(given), (
        f"{path}: not documented {sorted(set(given) - set(documented))}, "
        f"not in the signature {sorted(set(documented) - set(given))}")


@pytest.mark.parametrize("path", sorted(CALLABLES))
def test_what_a_call_raises_is_documented(path):
    obj = CALLABLES[path]
    if not _parameters(obj) or path in NO_RAISES:
        return
    raises = _sections(obj, "raises")
    assert raises and raises[0].value, f"{path}: no Raises section"
    for exc in raises[0].value:
        assert exc.description.strip(), f"{path}: {exc.annotation} says not when"


@pytest.mark.parametrize("path", sorted(path for path, obj in CALLABLES.items()
                                         if obj.is_function))
def test_what_a_call_returns_is_documented(path):
    obj = CALLABLES[path]
    if obj.returns is None or str(obj.returns) in ("None", "NoReturn"):
        return
    assert _sections(obj, "returns") or _sections(obj, "yields"), (
        f"{path} returns {obj.returns}: no Returns (or Yields) section")


def test_every_trait_of_the_widget_says_its_type_and_default():
    widget = NAMES["poolbars.ProgressPanel"]
    traits = {name: member for name, member in widget.members.items()
              if member.is_attribute and "sync=True" in str(member.value)}
    assert len(traits) >= 10
    for name, trait in traits.items():
        text = trait.docstring.value if trait.docstring else ""
        assert "- Type:" in text and "- Default:" in text, f"ProgressPanel.{name}: {text!r}"


def test_the_exemptions_are_real():
    assert set(NO_RAISES) <= set(CALLABLES) and all(NO_RAISES.values())
    for path in NO_RAISES:
        assert _parameters(CALLABLES[path]) and not _sections(CALLABLES[path], "raises")
    assert set(NOT_RUN) <= {path for path, _, _ in EXAMPLES}
    assert len(NOT_RUN) * 5 < len(EXAMPLES)


@pytest.mark.parametrize("path,index,code", [pytest.param(*e, id=f"{e[0]}-{e[1]}")
                                             for e in EXAMPLES if e[0] not in NOT_RUN])
def test_the_example_runs(path, index, code, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("POOLBARS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (f"{path}, example {index + 1}:\n{code}\n--- stdout:\n"
                                  f"{done.stdout}\n--- stderr:\n{done.stderr}")
