"""Every public name of `tinyml` (and its modules) and of `_tinyml` has a
type stub, and every stub names something that exists. The package side is
read from the sources; the C module side from the unix firmware itself."""

import ast
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "python_lib" / "tinyml"
MICROPYTHON = REPO / "build" / "unix" / "micropython"


def _names(tree):
    """{name: set of public member names} for top-level public classes, and
    '' -> the public top-level names."""
    out = {"": set()}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and not t.id.startswith("_") or getattr(t, "id", "") == "__version__":
                    out[""].add(t.id)
            continue
        elif isinstance(node, ast.ImportFrom) and node.module == "_tinyml":
            out[""].update(a.asname or a.name for a in node.names)
            continue
        else:
            continue
        if name.startswith("_"):
            continue
        out[""].add(name)
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    members.add(item.name)
                elif isinstance(item, ast.Attribute) and isinstance(item.value, ast.Name) \
                        and item.value.id == "self" and isinstance(item.ctx, ast.Store) \
                        and not item.attr.startswith("_"):
                    members.add(item.attr)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)) and item in node.body:
                    for t in (item.targets if isinstance(item, ast.Assign) else [item.target]):
                        if isinstance(t, ast.Name) and not t.id.startswith("_"):
                            members.add(t.id)
            out[name] = members
    return out


MODULES = sorted(p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_") or p.stem == "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_package_names_have_stubs(module):
    src = _names(ast.parse((PKG / f"{module}.py").read_text()))
    stub_path = PKG / f"{module}.pyi"
    assert stub_path.exists(), f"missing stub {stub_path.relative_to(REPO)}"
    stub = _names(ast.parse(stub_path.read_text()))
    for scope, names in src.items():
        missing = names - stub.get(scope, set())
        assert not missing, f"{module}.pyi lacks {sorted(missing)} in {scope or 'the module'}"
    for scope, names in stub.items():
        extra = names - src.get(scope, set())
        assert not extra, f"{module}.pyi declares {sorted(extra)} in {scope or 'the module'}, which the code lacks"


def test_c_module_names_have_stubs():
    if not MICROPYTHON.exists():
        pytest.skip("build/unix/micropython not built (make firmware BOARD=unix)")
    code = ("import _tinyml\n"
            "for o in (_tinyml, _tinyml.Model, _tinyml.AudioFeatures):\n"
            "    print(' '.join(n for n in dir(o) if not n.startswith('_')))\n")
    lines = subprocess.run([str(MICROPYTHON), "-c", code], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    stub = _names(ast.parse((REPO / "python_lib" / "_tinyml.pyi").read_text()))
    for scope, line in zip(("", "Model", "AudioFeatures"), lines):
        real = set(line.split())
        assert real == stub[scope], f"_tinyml.pyi {scope or 'module'}: firmware has {sorted(real)}, stub {sorted(stub[scope])}"
