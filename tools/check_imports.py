"""The import rule import-linter cannot see, checked by `make lint`.

import-linter checks which layer may import which (pyproject.toml), but not *where* an import
stands. The rule (HackSoft's Django styleguide) is:

- services import tasks at the top of the module (to queue them on commit);
- a task imports its service inside its body (the services import the tasks, so a task
  importing a service at the top would be a cycle);
- nowhere else does the app import its own code inside a function, except the few places listed
  in ALLOWED with the reason (a function-local import hides a dependency from grep, from
  import-linter's layers and from a reader).

Usage: python tools/check_imports.py [ROOT ...]  (default: reviewapp). Exit 1 on a violation.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

PROJECT = ("reviewapp", "matching")

# (path, function): why the import must stay inside that function.
ALLOWED = {
    ("reviewapp/apps.py", "ready"): "Django registers signal receivers once the app registry is ready",
    ("reviewapp/storage.py", "inventory_listing"):
        "s3inventory reads ObjectInfo and the storage errors from storage.py (a top-level import is a cycle)",
    ("reviewapp/services/deletion/__init__.py", "__getattr__"):
        "re-exports takedown_execute, whose module imports this package (a top-level import is a cycle)",
}


def _own(node: ast.ImportFrom | ast.Import) -> list[str]:
    """The project modules an import statement names (relative imports are always the project's)."""
    if isinstance(node, ast.ImportFrom):
        name = node.module or ""
        return [("." * node.level) + name] if node.level or name.split(".")[0] in PROJECT else []
    return [a.name for a in node.names if a.name.split(".")[0] in PROJECT]


def _is_service(path: Path, name: str) -> bool:
    """Does `name`, imported in `path`, reach reviewapp.services?"""
    if name.startswith("reviewapp.services"):
        return True
    if name.startswith("."):
        level = len(name) - len(name.lstrip("."))
        base = list(path.with_suffix("").parts[:-1])
        base = base[: len(base) - (level - 1)] if level > 1 else base
        full = ".".join([*base, name.lstrip(".")]) if name.lstrip(".") else ".".join(base)
        return full.startswith("reviewapp.services")
    return False


def violations(path: Path) -> list[str]:
    rel = path.as_posix()
    tree = ast.parse(path.read_text(), filename=rel)
    in_tasks = "/tasks/" in f"/{rel}" and rel.startswith("reviewapp/tasks/")
    found = []
    for node in tree.body:  # module level
        if in_tasks and isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _own(node):
                if _is_service(path, name):
                    found.append(f"{rel}:{node.lineno}: a task module imports {name} at the top; "
                                 "import the service inside the task's body")
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _own(node)
            if not names or in_tasks or (rel, fn.name) in ALLOWED:
                continue
            found.append(f"{rel}:{node.lineno}: {fn.name}() imports {', '.join(names)} inside the function; "
                         "import it at the top of the module (or list the reason in tools/check_imports.py)")
    return found


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path("reviewapp")]
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            if "migrations" in path.parts:
                continue
            found += violations(path)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} import(s) break the import rule")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
