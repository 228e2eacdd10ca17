"""Whatever a user writes, check and cost answer with findings or a SpecError, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubelab.errors import SpecError
from kubelab.lab import check_file, cost_file
from tests.lab.conftest import BASE
from tests.lab.test_check import GKE, SEED_000

VALUES = st.sampled_from(["0", "-1", "1.5", "''", "null", "[]", "{}", "[1, 2]", "abc", "1e400", "0.0001",
                          "1Gi", "500m", "true", "99999999999999999999", "{a: 1}", "'1.31'", "\"\""])
SCALAR = re.compile(r"(?m)(:\s)([^{}\[\]\n#,][^\n#,}\]]*)")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from([BASE, SEED_000, GKE]), data=st.data())
def test_mutated_files_never_crash(tmp_path: Path, base: str, data: st.DataObject) -> None:
    spots = list(SCALAR.finditer(base))
    text = base
    for match in sorted(data.draw(st.lists(st.sampled_from(spots), min_size=1, max_size=3, unique_by=lambda m:
                                           m.start())), key=lambda m: m.start(), reverse=True):
        text = text[:match.start(2)] + data.draw(VALUES) + text[match.end(2):]
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    report = check_file(path)
    assert report.lab is not None or report.errors
    for finding in report.findings:
        assert finding.problem.file == str(path) and finding.problem.message
    try:
        cost_file(path)
    except SpecError as exc:
        assert exc.problems
