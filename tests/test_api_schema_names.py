"""django-ninja names an OpenAPI component after its Schema class: two request schemas of one name (a ``StepIn`` in
two modules) become one component, and the published schema then describes one of the two requests wrongly. Every
Schema class the API uses has a name of its own."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "gongzhi"


def _schema_classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                    (isinstance(b, ast.Name) and b.id in {"Schema", "ModelSchema"}) for b in node.bases):
                found[node.name].append(str(path.relative_to(ROOT)))
    return found


def test_every_api_schema_class_has_its_own_name() -> None:
    found = _schema_classes()
    assert len(found) > 30, "the schemas were not found"
    twice = {name: paths for name, paths in found.items() if len(paths) > 1}
    assert twice == {}, f"Schema classes sharing a name (one OpenAPI component): {twice}"


def test_the_openapi_document_has_a_component_per_schema_name() -> None:
    from gongzhi.api.main import api

    components = api.get_openapi_schema()["components"]["schemas"]
    assert {"LibraryStepIn", "ProjectStepIn", "VolunteerTeamIn"} <= set(components)
