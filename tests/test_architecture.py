"""The package's shape, as issue 11 set it: no import cycles between its modules, no module
reaching into another's private names, no class over 250 lines, no function over 60 (of
code: docstrings are not counted). Read from the source with `ast`, so a regression fails
here, not in a review."""

import ast
import collections
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "src" / "poolbars"
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60
# private names of other libraries we must use, each with why (none of ours belong here)
FOREIGN_PRIVATE = {
    "forkserver._forkserver": "multiprocess has no public way to stop its fork server",
    "dill._dill": "dill's pickler table lives only there",
    "util._args_from_interpreter_flags": "our fork server starts with the interpreter's "
                                         "flags, as multiprocess starts its own",
}


def modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name, parsed."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return found


MODULES = modules()


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """Nodes under `if TYPE_CHECKING:`: they never run, so they make no cycle."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def imports(name: str, tree: ast.Module) -> set[str]:
    """The package's modules that `name` imports when it runs (also inside functions)."""
    here = name.split(".") if _is_package(name) else name.split(".")[:-1]
    skipped, found = _type_checking_nodes(tree), set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


def test_no_import_cycles():
    graph = {name: imports(name, tree) for name, tree in MODULES.items()}
    # a package's __init__ re-exports its modules; their importing the package's siblings
    # through it is no cycle of substance, so edges into a package go to what it holds
    cycles = set()
    for start in graph:
        stack = [(start, (start,))]
        while stack:
            node, path = stack.pop()
            for following in graph[node]:
                if following == start:
                    cycles.add(" -> ".join(path + (start,)))
                elif following not in path and not _is_package(following):
                    stack.append((following, path + (following,)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines itself: its functions, classes, attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if name.startswith("_")}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(name: str, tree: ast.Module) -> list[str]:
    own, found = _own_private_names(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module in FOREIGN_PRIVATE:
                continue
            found += [f"{name}:{node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            target = ast.unparse(node)
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "super":
                continue  # overriding a base class's hook
            if node.attr in own or any(target.startswith(f) for f in FOREIGN_PRIVATE):
                continue
            found.append(f"{name}:{node.lineno}: {target}")
    return found


def test_no_module_reaches_into_anothers_private_names():
    found = [line for name, tree in MODULES.items() for line in private_reaches(name, tree)]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def _docstring_lines(node: ast.AST) -> int:
    """Lines of the docstrings in `node` (its own and its members'): text, not code."""
    lines = 0
    for inner in ast.walk(node):
        if isinstance(inner, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and (
                ast.get_docstring(inner, clean=False) is not None):
            doc = inner.body[0]
            lines += (doc.end_lineno or doc.lineno) - doc.lineno + 1
    return lines


def _too_long() -> list[str]:
    found = []
    for name, tree in MODULES.items():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            # the API reference is written in docstrings: they count as text, not code
            length = (node.end_lineno or node.lineno) - node.lineno + 1 - _docstring_lines(node)
            if isinstance(node, ast.ClassDef) and length > MAX_CLASS_LINES:
                found.append(f"{name}.{node.name}: class of {length} lines")
            elif not isinstance(node, ast.ClassDef) and length > MAX_FUNCTION_LINES:
                found.append(f"{name}: {node.name}() of {length} lines")
    return found


def test_classes_and_functions_stay_small():
    found = _too_long()
    assert not found, "\n".join(found)


def test_the_checks_see_the_package():
    # the checks above pass vacuously if they read nothing: they must see the engine
    assert len(MODULES) > 20 and "poolbars.pool" in MODULES
    assert "poolbars.pool" in imports("poolbars", MODULES["poolbars"])
