from __future__ import annotations

import pytest

from gongzhi.core.errors import InvalidInput
from gongzhi.core.masking import mask_id_number, mask_phone
from gongzhi.core.validators import (
    is_valid_credit_code,
    is_valid_id_number,
    normalize_credit_code,
    normalize_id_number,
    normalize_phone,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_id_numbers_with_a_correct_check_character_are_accepted(number: str) -> None:
    assert is_valid_id_number(number)


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "11010519491231002", "1101051949123100200", "11010519491331002X", "ABCDEFGHIJKLMNOPQR"],
)
def test_id_numbers_with_a_wrong_checksum_date_or_length_are_refused(number: str) -> None:
    assert not is_valid_id_number(number)
    with pytest.raises(InvalidInput) as exc:
        normalize_id_number(number)
    assert "id_number" in exc.value.fields


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "12100000400000624D"])
def test_published_credit_codes_pass_the_gb32100_checksum(code: str) -> None:
    assert is_valid_credit_code(code)
    assert normalize_credit_code(code.lower()) == code


@pytest.mark.parametrize(
    "code", ["91350100M000100Y44", "91350100M000100Y4", "9135O100M000100Y43", "91ABCDEFM000100Y43"]
)
def test_credit_codes_with_a_wrong_check_character_or_letters_are_refused(code: str) -> None:
    assert not is_valid_credit_code(code)


def test_phone_numbers_are_normalised_and_bad_ones_name_the_field() -> None:
    assert normalize_phone("+86 138 0013 8000") == "13800138000"
    assert normalize_phone("024-23456789") == "024-23456789"
    with pytest.raises(InvalidInput) as exc:
        normalize_phone("12345", field="contact_phone")
    assert list(exc.value.fields) == ["contact_phone"]


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("") == ""


def test_text_in_and_whole_number_name_the_field() -> None:
    from gongzhi.core.validators import text_in, whole_number

    assert text_in("  事由  ", "description", 10) == "事由"
    for bad, args in ((" ", {"required": True}), ("x" * 11, {})):
        with pytest.raises(InvalidInput) as e:
            text_in(bad, "description", 10, **args)
        assert set(e.value.fields) == {"description"}
    assert whole_number("12", "points", 1, 100) == 12
    for bad in (True, "1.5", 0, 101, None):
        with pytest.raises(InvalidInput) as e:
            whole_number(bad, "points", 1, 100)
        assert set(e.value.fields) == {"points"}
