from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import kubelab
import kubelab.lab
import kubelab.recipe
import kubelab.tune

LAZY = [kubelab, kubelab.lab, kubelab.recipe, kubelab.tune]


@pytest.mark.parametrize("package", LAZY, ids=lambda p: p.__name__)
def test_all_names_resolve(package: ModuleType) -> None:
    for name in package.__all__:
        value = getattr(package, name)
        assert value is not None, name
        assert getattr(package, name) is value, name  # cached: the second read is the same object
    assert dir(package) == sorted(package.__all__)


@pytest.mark.parametrize("package", LAZY, ids=lambda p: p.__name__)
def test_unknown_attribute_is_attribute_error(package: ModuleType) -> None:
    with pytest.raises(AttributeError, match=f"^module '{package.__name__}' has no attribute 'does_not_exist'$"):
        package.does_not_exist  # noqa: B018


def test_importing_a_package_imports_none_of_its_exports() -> None:
    code = ("import sys, kubelab, kubelab.lab, kubelab.recipe, kubelab.tune\n"
            "print(sorted(m for m in sys.modules if m.startswith(('kubelab.lab.', 'kubelab.recipe.', "
            "'kubelab.tune.', 'kubelab.errors'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
