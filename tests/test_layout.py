"""The layout holds: no import circles, and lower layers never import a feature."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
FEATURES = ("app.auth", "app.account", "app.main")
# Layers below the features and views: they serve every feature, so none may
# know one (mail registers features' builders; it never imports them).
LOWER = (
    "app.models",
    "app.tokens",
    "app.passwords",
    "app.i18n",
    "app.database",
    "app.forms",
    "app.request_helpers",
    "app.limits",
    "app.redact",
    "app.health",
    "app.fragments",
    "app.pagination",
    "app.mail",
)
VIEWS = (*FEATURES, "app.errors", "app.cli")


def module_name(path: Path) -> str:
    """app/auth/routes.py -> app.auth.routes; app/mail/__init__.py -> app.mail."""
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each app module and the app modules it imports, anywhere in its code."""
    modules = {module_name(path): path for path in APP.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    found.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        # The package itself (app: the extensions) is everyone's root, not an edge.
        graph[name] = {m for m in found if m in modules and m not in ("app", name)}
    return graph


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether module name is one of prefixes or inside one."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle found by a depth-first walk."""
    found, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between feature packages and app's other top modules."""

    def top(name):
        return ".".join(name.split(".")[:2])

    packages = {}
    for source, targets in graph.items():
        edges = packages.setdefault(top(source), set())
        edges.update(top(t) for t in targets if top(t) != top(source))
    return packages


def test_no_module_imports_itself_in_a_circle():
    assert cycles(imports()) == []


def test_no_package_imports_itself_in_a_circle():
    assert cycles(package_graph(imports())) == []


def test_lower_layers_never_import_a_feature_or_a_view():
    wrong = [
        f"{source} imports {target}"
        for source, targets in imports().items()
        if within(source, LOWER)
        for target in targets
        if within(target, VIEWS)
    ]
    assert wrong == []


def test_the_walk_finds_a_circle():
    """The checks above can fail: a made-up circle is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert package_graph({"app.x.one": {"app.y.two"}, "app.y.two": {"app.x"}}) == {
        "app.x": {"app.y"},
        "app.y": {"app.x"},
    }


def test_each_feature_is_one_folder_with_its_routes_forms_and_mail():
    for feature in ("auth", "account", "main"):
        folder = APP / feature
        assert (folder / "routes.py").exists() and (folder / "forms.py").exists()
    assert (APP / "auth" / "email.py").exists()
    assert (APP / "account" / "email.py").exists()
    source = (APP / "auth" / "email.py").read_text()
    assert "def send_password_reset_email(" in source  # the tutorial's name
