from datetime import datetime

import pytest

from tripcast.core.domain.errors import InvalidInputError
from tripcast.core.domain.month import Month


def test_parse_and_navigate():
    month = Month.parse("2021-12")
    assert str(month) == "2021-12"
    assert month.next() == Month(2022, 1)
    assert Month(2022, 1).previous() == month
    assert month.contains(datetime(2021, 12, 31, 23, 59))
    assert not month.contains(datetime(2022, 1, 1))


@pytest.mark.parametrize("text", ["2021-13", "2021-1", "21-01", "January", ""])
def test_bad_month_names_the_field(text):
    with pytest.raises(InvalidInputError) as info:
        Month.parse(text, field="train_month")
    assert info.value.problems[0].field == "train_month"
