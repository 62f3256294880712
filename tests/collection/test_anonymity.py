"""No table that holds answers can hold a device, an address or a dossier."""

from __future__ import annotations

import re

from survey import models  # noqa: F401  (every table)
from survey.db import Base

# Tables whose rows carry what was answered (or counts of it).
ANSWER_TABLES = ("responses", "answers", "answer_counts")
IDENTIFYING = re.compile(r"device|cookie|address|\bip\b|^ip_|_ip$|user_agent|dossier|ho_so|phone|email|token|respondent",
                         re.IGNORECASE)


def test_no_table_holding_answers_has_a_device_address_or_dossier_column():
    for name in ANSWER_TABLES:
        columns = [c.name for c in Base.metadata.tables[name].columns]
        assert not [c for c in columns if IDENTIFYING.search(c)], (name, columns)


def test_the_dossier_digests_and_arrivals_name_no_response():
    for name in ("dossier_digests", "point_arrivals"):
        table = Base.metadata.tables[name]
        assert not {fk.column.table.name for fk in table.foreign_keys} & set(ANSWER_TABLES)
        assert not [c.name for c in table.columns if "response" in c.name]
    assert {c.name for c in Base.metadata.tables["dossier_digests"].columns} == {"id", "round_id", "digest"}


def test_the_samples_from_the_dossier_register_name_no_response():
    """A drawn dossier leads to a respondent (who submitted, as for the roster), never to what they answered."""
    for name in ("dossier_samples", "sample_members"):
        table = Base.metadata.tables[name]
        assert not {fk.column.table.name for fk in table.foreign_keys} & set(ANSWER_TABLES)
        assert not [c.name for c in table.columns if "response" in c.name or "answer" in c.name]
    for name in ANSWER_TABLES:
        assert not {fk.column.table.name for fk in Base.metadata.tables[name].foreign_keys} & {
            "dossier_samples", "sample_members", "respondents"}
    # What survives the round's close holds no contact and no dossier code.
    assert not [c.name for c in Base.metadata.tables["dossier_samples"].columns if IDENTIFYING.search(c.name)]


def test_the_check_itself_sees_an_identifying_column():
    for column in ("device_id", "client_ip", "ip", "remote_address", "dossier_hash", "user_agent"):
        assert IDENTIFYING.search(column), column
