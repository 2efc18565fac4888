"""Unified social credit code validation (GB 32100-2015 with the GB 11714 organisation code)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.pure.uscc import CHARSET, is_valid_uscc, make_uscc, validate_uscc

# Real codes cited for the named organisation in several public sources; each passes both check
# digits here and in gb32100_check below, which is written independently of the module.
KNOWN_VALID = [
    "91350100M000100Y43",  # the example used in GB 32100 explanations
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # a Tencent entity in Shenzhen (org-code check digit X)
    "91330100799655058B",  # 阿里巴巴(中国)有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91440300708461136T",
    "91110108735106340Y",  # organisation-code check digit 0 (the "11 → 0" case)
    "112302070019030687",  # a 机关 (1-1) code, not an enterprise
]

FORBIDDEN = "IOZSV"


def gb32100_check(body17: str) -> str:
    """The 18th character, written out again from the standard rather than imported."""
    weights = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, … as in the standard
    total = sum(CHARSET.index(c) * w for c, w in zip(body17, weights, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def gb11714_check(body8: str) -> str:
    """The organisation-code check character (position 17), written out again from GB 11714."""
    values = [int(c, 36) for c in body8]  # 0–9 then A=10 … Z=35
    check = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    return "0123456789X0"[check]


def test_uscc_weights_are_powers_of_three_mod_31():
    assert [pow(3, i, 31) for i in range(17)] == [
        1,
        3,
        9,
        27,
        19,
        26,
        16,
        17,
        20,
        29,
        25,
        13,
        8,
        24,
        10,
        30,
        28,
    ]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_uscc_known_codes_validate(code):
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)
    assert gb32100_check(code[:17]) == code[17]
    assert gb11714_check(code[8:16]) == code[16]
    assert make_uscc(code[:16]) == code


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_uscc_any_single_character_change_is_rejected(code):
    for position in range(18):
        for replacement in CHARSET:
            if replacement != code[position]:
                changed = code[:position] + replacement + code[position + 1 :]
                assert not is_valid_uscc(changed), changed


def test_uscc_lower_case_and_spaces_are_normalised():
    assert validate_uscc("  91350100m000100y43\n") == "91350100M000100Y43"
    assert validate_uscc("9144030071526726xg") == "9144030071526726XG"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433", "9135"])
def test_uscc_wrong_length_is_rejected(code):
    with pytest.raises(ValueError, match="应为 18 位"):
        validate_uscc(code)


@pytest.mark.parametrize("letter", FORBIDDEN)
@pytest.mark.parametrize("position", [0, 9, 15, 17])
def test_uscc_letters_i_o_z_s_v_are_rejected(letter, position):
    code = KNOWN_VALID[0]
    changed = code[:position] + letter + code[position + 1 :]
    with pytest.raises(ValueError, match=f"第 {position + 1} 位“{letter}”不是合法字符"):
        validate_uscc(changed)


def test_uscc_other_illegal_characters_are_rejected():
    for changed in ["91350100M000100Y4-", "91350100M000100Y4 3", "91350100Ｍ000100Y4＃"]:
        with pytest.raises(ValueError, match="不是合法字符|应为 18 位"):
            validate_uscc(changed)


def test_uscc_region_must_be_six_digits():
    body17 = "91A50100M000100Y4"
    with pytest.raises(ValueError, match="行政区划"):
        validate_uscc(body17 + gb32100_check(body17))


def test_uscc_wrong_organisation_check_is_rejected_even_with_right_final_digit():
    # Position 17 altered and position 18 recomputed: only the GB 11714 check can catch this.
    body17 = "91350100M000100Y5"
    code = body17 + gb32100_check(body17)
    with pytest.raises(ValueError, match="组织机构代码"):
        validate_uscc(code)


def test_uscc_wrong_final_check_digit_is_rejected():
    with pytest.raises(ValueError, match="第 18 位"):
        validate_uscc("91350100M000100Y44")


@pytest.mark.parametrize(
    "body", ["91350100M000100", "91350100M000100Y4", "91A50100M000100Y", "I1350100M000100Y"]
)
def test_uscc_make_rejects_bad_bodies(body):
    with pytest.raises(ValueError, match="统一社会信用代码"):
        make_uscc(body)


bodies16 = st.builds(
    lambda head, region, org: head + region + org,
    st.text(alphabet=CHARSET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CHARSET, min_size=8, max_size=8),
)


@given(bodies16)
def test_uscc_make_always_validates_and_every_single_change_is_caught(body16):
    # Tested: for random 16-character bodies, make_uscc's output validates and keeps the body; and
    # replacing ANY one of the 18 characters (not only the last) by any other charset character
    # is rejected. That holds because every GB 32100 weight is non-zero mod the prime 31.
    code = make_uscc(body16)
    assert code == body16 + gb11714_check(body16[8:]) + gb32100_check(code[:17])
    assert validate_uscc(code) == code
    for position in range(18):
        for replacement in CHARSET:
            if replacement != code[position]:
                assert not is_valid_uscc(code[:position] + replacement + code[position + 1 :])


def test_uscc_full_width_input_is_normalised():
    assert validate_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"
