#!/usr/bin/env python3
"""Writes shared/domain/tests/fixtures/phone-corpus.tsv: the reference library's answers for every
region's example numbers, which shared/domain/tests/phones.rs compares the normaliser with.

For each region and number type with an example, three spellings: the national format
(read with that region as the default), and the international and E.164 formats (read
with CN as the default: a number with its country code must not depend on where the
deployment is). Each row: region, default region, spelling, what libphonenumber makes of
it (E.164, or `invalid`).

Needs the Python port of libphonenumber at the metadata version the `phonenumber` crate
bundles (Cargo.lock: 0.3.10+9.0.33), so a difference is the code's, not the data's:
    python3 -m venv /tmp/pn && /tmp/pn/bin/pip install phonenumbers==9.0.33
    /tmp/pn/bin/python scripts/phone-corpus.py > shared/domain/tests/fixtures/phone-corpus.tsv
"""
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]


def reference(spelling, default):
    try:
        parsed = phonenumbers.parse(spelling, default)
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def main():
    out = sys.stdout
    out.write(f"# libphonenumber {phonenumbers.__version__}: region\tdefault\tspelling\texpected\n")
    seen = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            forms = [
                (region, phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)),
                ("CN", phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)),
                ("CN", phonenumbers.format_number(example, PhoneNumberFormat.E164)),
            ]
            for default, spelling in forms:
                if (default, spelling) in seen:
                    continue
                seen.add((default, spelling))
                out.write(f"{region}\t{default}\t{spelling}\t{reference(spelling, default)}\n")


if __name__ == "__main__":
    main()
