"""Every public function of a module's ``services.py`` (or of its ``services/`` package) is reachable by a person
or a program: some page, API endpoint, command, job or template — not only tests or the demo loaders — calls it,
directly or through another service. A service nobody calls is a capability nobody can use."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "gongzhi"


def _service_functions() -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for path in sorted([*ROOT.rglob("services.py"), *ROOT.rglob("services/*.py")]):
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            # Private helpers take part in the chain (a page calls _helper, which calls a service); only public
            # functions are reported.
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[f"{path.parent.name}.{path.stem}.{node.name}"] = (node.name,
                                                                         ast.get_source_segment(source, node) or "")
    return found


def _callers_text() -> str:
    files = [p for p in [*ROOT.rglob("*.py"), *ROOT.rglob("*.html")]
             if p.name != "services.py" and p.parent.name != "services" and not p.name.startswith("demo")
             and "migrations" not in p.parts]
    return "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in files)


def _refers(name: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


def test_every_public_service_function_has_a_caller_outside_tests() -> None:
    functions = _service_functions()
    assert sum(not name.startswith("_") for name, _src in functions.values()) > 50, "the services were not found"
    outside = _callers_text()
    reached = {key for key, (name, _src) in functions.items() if _refers(name, outside)}
    grew = True
    while grew:  # a service called by a reachable service is reachable
        grew = False
        for key in list(reached):
            for other, (name, _src) in functions.items():
                if other not in reached and _refers(name, functions[key][1]):
                    reached.add(other)
                    grew = True
    unreachable = sorted(k for k in set(functions) - reached if not functions[k][0].startswith("_"))
    assert unreachable == [], f"service functions only tests call: {unreachable}"


def test_the_check_itself_notices_an_orphan(tmp_path: Path) -> None:
    """The check must be able to fail: a name that appears nowhere else is reported."""
    assert not _refers("a_service_nobody_calls_xyz", _callers_text())
