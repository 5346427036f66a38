"""The mapping file format is validated by pydantic models; a refusal names the key's path."""

import pytest

from data import contract
from data.import_mapping import MappingError, parse
from tests.import_helpers import EVENT_LOG_MAPPING


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tme = 1", "o.files[1] (events): unknown key(s) ['tme']"),
        (
            "lead_from_deal = 1",
            "o.files[1] (events).lead_from_deal: expected true or false, got the number 1",
        ),
        ("stage_dates = { mql = 3 }", "o.files[1] (events).stage_dates.mql: expected a column name (text)"),
        (
            "max_rejected_share = 1.5",
            "o.files[1] (events).max_rejected_share: expected a share between 0 and 1",
        ),
    ],
    ids=["unknown_key", "wrong_type", "wrong_entry_type", "out_of_range"],
)
def test_a_bad_files_table_is_refused_naming_the_key(line, message):
    text = EVENT_LOG_MAPPING.format(tz="UTC", share=1.0, extra="") + "\n" + line + "\n"
    with pytest.raises(MappingError) as err:
        parse(text, contract.load(), origin="o")
    assert message in str(err.value)
