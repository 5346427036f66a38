"""Lead-to-account matching: the account of every lead, its own or matched, and why.

Rebuilt with the journeys (data/journey.py calls rebuild() first, so a journey carries its
lead's account). The table `account_matches` holds one row per lead that has an account or
evidence of one (data/account_matches.sql):

    rule    record            the lead's own record names its account id
            converted_account the lead names none, but the account it was converted into
                              (Salesforce's ConvertedAccountId)
            converted_opportunity  the lead names none, but the opportunity it was converted
                              into (ConvertedOpportunityId) names its account
            domain            its email domain is a known account's domain
            name              its company name, normalised, is a known account's name
            domain_and_name   both point to the same account
    status  matched           one account: the lead's account (account_id)
            ambiguous         one kind of evidence points to two or more accounts
            conflict          the domain points to one account and the name to another

A conversion is the CRM's own fact, so it comes before any matching on domain or name. Ambiguous
and conflicting leads are never given an account: the data-quality view lists them
(queries/sql/dq_account_matches.sql) with the accounts each kind of evidence points to.

Known accounts are the `accounts` table's (its name and domain) and every account id that leads
already name, with those leads' company names and email domains. Opportunities name account ids
too, but no name or domain to match on, so they add none.

Normalised company name: lower case, accents and punctuation dropped ("S.A." is "sa", "&" is
"and"), a leading "the" and trailing legal forms (LEGAL_SUFFIXES: Inc, Ltd, GmbH, S.A., ...)
removed; names that name no company (PLACEHOLDER_NAMES) never match. Email domain: the part
after "@", lower case, without "www."; a free-mail domain (FREE_MAIL_DOMAINS, or a domain of a
FREE_MAIL_PROVIDERS provider in any country) never matches, and never becomes an account's.
These lists are the only place the words live; the SQL receives them as bound values.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from data import derived_tables

SQL = Path(__file__).with_name("account_matches.sql")

# Whole free-mail domains whose first label alone would not say so.
FREE_MAIL_DOMAINS = (
    "163.com",
    "126.com",
    "btinternet.com",
    "comcast.net",
    "free.fr",
    "laposte.net",
    "libero.it",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "orange.fr",
    "qq.com",
    "sbcglobal.net",
    "t-online.de",
    "verizon.net",
    "wanadoo.fr",
    "web.de",
    "att.net",
)
# Free-mail providers: any domain whose first label is one of these (gmail.com, yahoo.co.uk,
# hotmail.fr, outlook.de, ...) is free mail.
FREE_MAIL_PROVIDERS = (
    "aol",
    "fastmail",
    "gmail",
    "gmx",
    "googlemail",
    "hey",
    "hotmail",
    "icloud",
    "live",
    "msn",
    "outlook",
    "proton",
    "protonmail",
    "rediffmail",
    "tutanota",
    "yahoo",
    "yandex",
    "ymail",
    "zoho",
)
# Legal forms removed from the end of a normalised company name (after punctuation is dropped,
# so "S.A." is "sa" and "S. A." is "s a"). Repeated forms go too: "Acme Co., Ltd." is "acme".
LEGAL_SUFFIXES = (
    "ab",
    "ag",
    "and co",
    "and company",
    "as",
    "asa",
    "bv",
    "b v",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kft",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "ltda",
    "nv",
    "n v",
    "oy",
    "oyj",
    "plc",
    "pte",
    "pty",
    "pvt",
    "sa",
    "s a",
    "sarl",
    "sas",
    "sl",
    "s l",
    "spa",
    "s p a",
    "sp z o o",
    "srl",
    "s r l",
)
# Normalised names that name no company: never matched, never an account's name.
PLACEHOLDER_NAMES = (
    "",
    "n a",
    "na",
    "none",
    "null",
    "unknown",
    "not provided",
    "no company",
    "self",
    "self employed",
    "freelance",
    "individual",
    "private",
    "personal",
    "student",
    "test",
)

RULES = ("record", "converted_account", "converted_opportunity", "domain", "name", "domain_and_name")
STATUSES = ("matched", "ambiguous", "conflict")


def legal_suffix_pattern() -> str:
    """A regular expression for trailing legal forms: ' inc', ' co ltd', ... at the end."""
    words = sorted(LEGAL_SUFFIXES, key=len, reverse=True)  # longest first: "s a" before "sa"
    return "( (" + "|".join(re.escape(w).replace("\\ ", " ") for w in words) + "))+$"


def params() -> dict:
    """The bound values data/account_matches.sql reads."""
    return {
        "free_mail_domains": list(FREE_MAIL_DOMAINS),
        "free_mail_providers": list(FREE_MAIL_PROVIDERS),
        "legal_suffix_pattern": legal_suffix_pattern(),
        "placeholder_names": list(PLACEHOLDER_NAMES),
    }


def steps() -> list[tuple[str, str, dict]]:
    """(table, select, bound values) of what rebuild() writes, for data/journey_spark.py too."""
    return [("account_matches", SQL.read_text(encoding="utf-8"), params())]


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Replace account_matches in `con` from its leads and accounts."""
    derived_tables.replace(con, steps())
