"""Sign-in (ui/auth.py): off by default; when configured, nothing is queried or shown before an
allowed user has signed in, and only admins may import or roll back on the Data page.

The identity provider is not contacted: AppTest's `user` stands for what `st.login` would have
put in `st.user`, and `secrets` for `.streamlit/secrets.toml`.
"""

from __future__ import annotations

import importlib.util

import pytest

from queries import executor
from ui import auth

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-test-secret-of-32-chars",
    "client_id": "handoff-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}
ACCESS = {
    "allowed_domains": ["example.com"],
    "allowed_emails": ["partner@agency.io"],
    "admins": ["ops@example.com"],
}
SECRETS = {"auth": AUTH, "handoff_access": ACCESS}


def signed(email: str, **extra) -> dict:
    return {"is_logged_in": True, "email": email, **extra}


# --- the allow-list on its own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (signed("ana@example.com"), True),  # the domain
        (signed("Ana@Example.COM"), True),  # addresses are case-insensitive
        (signed("partner@agency.io"), True),  # a listed address
        (signed("other@agency.io"), False),  # same domain as a listed address: not enough
        (signed("ops@example.com"), True),  # an admin
        (signed("eve@example.com.evil.io"), False),  # the domain as a prefix of another
        (signed("eve@evilexample.com"), False),  # the domain as a suffix of another
        (signed("eve@sub.example.com"), False),  # subdomains are not the domain
        (signed("ana@example.com", email_verified=False), False),  # unverified address
        (signed("ana@example.com@evil.io"), False),  # two @: not an address
        ({"is_logged_in": False, "email": "ana@example.com"}, False),  # not signed in
        ({"is_logged_in": True}, False),  # a provider that gives no address
    ],
)
def test_allow_list(user, allowed):
    assert auth.is_allowed(user, auth.access_from(ACCESS)) is allowed


def test_empty_allow_list_lets_nobody_in():
    assert not auth.is_allowed(signed("ana@example.com"), auth.access_from({}))


# --- the frame ---------------------------------------------------------------------------------


@pytest.fixture
def no_queries(monkeypatch):
    """Fails the test if anything opens the store; returns the list of attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("the store was opened before sign-in")

    monkeypatch.setattr(executor, "connect", refuse)
    return attempts


def test_off_by_default_dashboard_renders(sample_db, page_app):
    # No secrets at all (a laptop): no sign-in screen, the default page draws its numbers.
    at = page_app("dashboard.py").run()
    assert not at.exception
    assert not [b for b in at.button if b.label == "Sign in"]
    assert at.metric, "the Funnel health headline figures should render without sign-in"


def test_signed_out_sees_only_sign_in(tmp_path, use_store, page_app, no_queries, authlib_present):
    # A store path that does not exist: had the frame run, it would have built the sample there.
    missing = use_store(tmp_path / "never-built.duckdb")
    at = page_app("dashboard.py")
    at.secrets = SECRETS
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    assert no_queries == [] and not missing.exists()


def test_not_on_the_list_sees_nothing(tmp_path, use_store, page_app, no_queries, authlib_present):
    missing = use_store(tmp_path / "never-built.duckdb")
    at = page_app("dashboard.py")
    at.secrets = SECRETS
    at.user = signed("eve@example.com.evil.io")
    at.run()
    assert not at.exception
    assert "not on the dashboard's access list" in at.error[0].value
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.metric and not at.dataframe
    assert no_queries == [] and not missing.exists()


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({"handoff_access": ACCESS}, "no `[auth]`"),  # allow-list without a provider
        ({"auth": AUTH}, "lets nobody in"),  # provider without an allow-list
        ({"auth": AUTH, "handoff_access": {"allowed_domains": []}}, "lets nobody in"),
    ],
)
def test_half_configured_fails_closed(secrets, message, tmp_path, use_store, page_app, no_queries):
    # A half-written secrets.toml must not fall back to "everyone in".
    use_store(tmp_path / "never-built.duckdb")
    at = page_app("dashboard.py")
    at.secrets = secrets
    at.user = signed("ops@example.com")
    at.run()
    assert not at.exception
    assert message in at.error[0].value
    assert no_queries == []


@pytest.mark.skipif(importlib.util.find_spec("authlib") is not None, reason="Authlib is installed")
def test_without_authlib_nobody_gets_in(tmp_path, use_store, page_app, no_queries):
    # st.login needs Authlib; without it the app says so instead of showing the data.
    use_store(tmp_path / "never-built.duckdb")
    at = page_app("dashboard.py")
    at.secrets = SECRETS
    at.user = signed("ana@example.com")
    at.run()
    assert "Authlib" in at.error[0].value
    assert no_queries == []


@pytest.fixture
def authlib_present(monkeypatch):
    """Authlib is an optional install; the gate only checks that it is importable."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "authlib" else real(name, *a)
    )


def test_allowed_user_sees_the_dashboard(sample_db, page_app, authlib_present):
    at = page_app("dashboard.py")
    at.secrets = SECRETS
    at.user = signed("ana@example.com")
    at.run()
    assert not at.exception
    assert at.metric, "the Funnel health headline figures should render after sign-in"
    assert "ana@example.com" in [t.value for t in at.sidebar.text]
    assert "Sign out" in [b.label for b in at.sidebar.button]


# --- the Data page: import and rollback for admins only ----------------------------------------


def data_page(page_app, user: dict | None):
    at = page_app("pages/data_admin.py")
    if user is not None:
        at.secrets = SECRETS
        at.user = user
    return at.run()


def buttons(at) -> dict:
    return {b.key: b for b in at.button}


def test_data_page_admin_can_import(sample_db, page_app, authlib_present):
    at = data_page(page_app, signed("ops@example.com"))
    assert not at.exception
    assert not [i for i in at.info if "limited to the dashboard's admins" in i.value]


def test_data_page_non_admin_cannot_import(sample_db, page_app, authlib_present):
    # No uploader at all for a viewer who is not an admin: no file of theirs is ever read by the
    # shared server, not even for a preview; no import button, no way to upload a mapping.
    at = data_page(page_app, signed("ana@example.com"))
    assert not at.exception
    assert [i for i in at.info if "limited to the dashboard's admins" in i.value]
    assert at.get("file_uploader") == []
    assert "data_import" not in buttons(at)
    assert "custom" not in at.selectbox(key="data_mapping").options


def test_forged_import_click_changes_nothing(sample_db, page_app, authlib_present, monkeypatch):
    # A crafted client can send a click for a widget the page did not draw for this viewer.
    # Streamlit 1.67 discards such a value, and the page checks is_admin() again before
    # importing: either stops it.
    from data import importer

    calls = []
    monkeypatch.setattr(importer, "import_files", lambda *a, **k: calls.append(a))
    at = data_page(page_app, signed("ana@example.com"))
    at.session_state["data_import"] = True  # the admin's import button, "pressed" by a viewer
    at.run()
    assert not at.exception
    assert calls == []


def test_data_page_without_sign_in_is_open(sample_db, page_app):
    # Sign-in off (the laptop default): the importer is for whoever runs the app.
    assert auth.is_admin.__doc__
    at = data_page(page_app, None)
    assert not [i for i in at.info if "limited to the dashboard's admins" in i.value]
