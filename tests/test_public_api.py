from __future__ import annotations

import kubelab


def test_all_names_resolve() -> None:
    for name in kubelab.__all__:
        assert getattr(kubelab, name) is not None, name


def test_unknown_attribute_is_attribute_error() -> None:
    try:
        kubelab.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
