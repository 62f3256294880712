"""The content check of evidence files, below HTTP (werkzeug already strips a Windows path from an upload's name)."""

import pytest

from survey.assessment.evidence import EvidenceRefused, check
from tests.assessment.conftest import PDF


@pytest.mark.parametrize("name", ["..\\..\\evil.pdf", "a/b.pdf", "x\0.pdf", ".."])
def test_names_with_path_separators_are_refused(name):
    with pytest.raises(EvidenceRefused):
        check(name, PDF, 1 << 20)


def test_a_pdf_is_accepted_and_hashed():
    accepted = check("ke-hoach.pdf", PDF, 1 << 20)
    assert accepted.content_type == "application/pdf" and len(accepted.sha256) == 64 and accepted.size == len(PDF)
