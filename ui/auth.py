"""Optional sign-in: who may see the dashboard, and who may change its data.

Off by default, so `make run` on a laptop stays one command. It is switched on by an `[auth]`
section in `.streamlit/secrets.toml` (Streamlit's own OpenID Connect settings, used by
`st.login`) together with a `[handoff_access]` section naming who is let in:

    [handoff_access]
    allowed_domains = ["example.com"]          # anyone signed in with an @example.com address
    allowed_emails = ["agency.partner@mail.io"]  # and these addresses
    admins = ["ops.lead@example.com"]          # may import and roll back on the Data page

The frame calls `require_sign_in()` before anything is queried or drawn; the Data page calls
`is_admin()` before it imports or rolls back. Every check fails closed: a half-written
configuration (an allow-list without `[auth]`, `[auth]` without an allow-list, Authlib missing)
stops the app with a message saying what to fix, never lets everyone in. See docs/deploy.md.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

ACCESS_SECTION = "handoff_access"


@dataclass(frozen=True)
class Access:
    """Who is let in and who may write, from `[handoff_access]` (addresses lower-cased)."""

    domains: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()


def _lower_set(values) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(str(v).strip().lower().lstrip("@") for v in values or () if str(v).strip())


def access_from(section: Mapping | None) -> Access:
    """An Access from the `[handoff_access]` table (missing keys mean nobody)."""
    section = section or {}
    return Access(
        domains=_lower_set(section.get("allowed_domains")),
        emails=_lower_set(section.get("allowed_emails")),
        admins=_lower_set(section.get("admins")),
    )


def _email(user: Mapping) -> str | None:
    """The signed-in address, lower-cased; None if the provider says it is not verified."""
    email = user.get("email")
    if not isinstance(email, str) or email.count("@") != 1:
        return None
    if user.get("email_verified") is False:  # an unverified address proves nothing
        return None
    return email.strip().lower()


def is_allowed(user: Mapping, access: Access) -> bool:
    """True if the signed-in user's address is on the allow-list (an exact address, or exactly
    one of the domains: `example.com` does not let in `example.com.evil.io` or `evilexample.com`)."""
    if not user.get("is_logged_in"):
        return False
    email = _email(user)
    if email is None:
        return False
    domain = email.rsplit("@", 1)[1]
    return email in access.emails or email in access.admins or domain in access.domains


def _secrets_section(name: str) -> Mapping | None:
    # No secrets.toml at all is the normal laptop case: no sign-in.
    try:
        if not st.secrets.load_if_toml_exists() or name not in st.secrets:
            return None
        return st.secrets[name]
    except FileNotFoundError:
        return None


def login_configured() -> bool:
    """True when secrets.toml switches sign-in on (an `[auth]` or `[handoff_access]` section)."""
    return _secrets_section("auth") is not None or _secrets_section(ACCESS_SECTION) is not None


def _user() -> Mapping:
    return st.user.to_dict()


def _setup_problem() -> str | None:
    """What stops sign-in from working as configured, in words for the person running it."""
    if _secrets_section("auth") is None:
        return (
            f"`.streamlit/secrets.toml` has a `[{ACCESS_SECTION}]` allow-list but no `[auth]` "
            "section, so nobody can sign in. Add the `[auth]` settings of your identity provider "
            "(docs/deploy.md), or remove the allow-list to run without sign-in."
        )
    access = access_from(_secrets_section(ACCESS_SECTION))
    if not (access.domains or access.emails or access.admins):
        return (
            f"Sign-in is configured but `[{ACCESS_SECTION}]` in `.streamlit/secrets.toml` lets "
            "nobody in. Add `allowed_domains` or `allowed_emails` (docs/deploy.md)."
        )
    if importlib.util.find_spec("authlib") is None:
        return (
            "Sign-in is configured but the Authlib package is not installed, so nobody can sign "
            "in. Install it in the app's environment (`pip install Authlib`, docs/deploy.md)."
        )
    return None


def signed_in() -> bool:
    """True if the viewer may see the dashboard: sign-in is off, or an allowed user signed in."""
    if not login_configured():
        return True
    if _setup_problem() is not None:
        return False
    return is_allowed(_user(), access_from(_secrets_section(ACCESS_SECTION)))


def is_admin() -> bool:
    """May this viewer change the store (import, roll back)? Everyone when sign-in is off (a
    laptop or a trusted single-user install); otherwise only the addresses in `admins`."""
    if not login_configured():
        return True
    if not signed_in():
        return False
    email = _email(_user())
    return email is not None and email in access_from(_secrets_section(ACCESS_SECTION)).admins


def require_sign_in() -> None:
    """Stop this run, before any query, until an allowed user has signed in (when configured).

    Shows the sign-in button, or says why a signed-in user is not let in. Draws the signed-in
    address and a sign-out button in the sidebar otherwise.
    """
    if not login_configured():
        return
    problem = _setup_problem()
    if problem is not None:
        st.error(problem, icon=":material/lock:")
        st.stop()
    access = access_from(_secrets_section(ACCESS_SECTION))
    user = _user()
    if not user.get("is_logged_in"):
        st.title("Handoff")
        st.write("Sign in with your company account to see the dashboard.")
        st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
        st.stop()
    if not is_allowed(user, access):
        st.title("Handoff")
        st.error(
            "This account is not on the dashboard's access list. Ask the person who runs Handoff "
            "to add your address or domain, or sign in with your company account.",
            icon=":material/block:",
        )
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()
    with st.sidebar:
        st.caption("Signed in as")
        st.text(_email(user) or "")  # provider text: shown as text only
        st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="auth_sign_out")


def user_name() -> str | None:
    """Who is at the keyboard, for the record of an import or a contract change: the signed-in
    address, or None without sign-in (the writer then records the OS account running the app)."""
    if not login_configured():
        return None
    return _email(_user())
