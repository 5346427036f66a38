"""The Data page under AppTest: upload, preview, import, the validation report with rejected
rows and reasons, history with rollback, and the data-quality view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data import importer
from tests.import_helpers import HEADER, query, run

PAGE = "pages/data_admin.py"
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@pytest.fixture
def store_db(tmp_path, use_store):
    """A live store holding the event-log example (23 events, 6 leads), HANDOFF_DB pointed at it."""
    db = tmp_path / "live.duckdb"
    run(tmp_path, EXAMPLES / "event_log.csv", "event_log", db=db)
    return use_store(db)


def texts(at) -> str:
    return "\n".join(
        [t.value for t in at.text] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    )


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def codes(at) -> str:
    """Text drawn with st.code: where the page puts reasons quoting an upload, as plain text."""
    return "\n".join(c.value for c in at.code)


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_page_renders_with_history_and_quality(store_db, page_app):
    at = page_app(PAGE).run()
    no_errors(at)
    assert not at.error, [e.value for e in at.error]
    shown = texts(at)
    assert "event_log.csv (event_log, events)" in "\n".join(
        str(df.value["description"].tolist()) for df in at.dataframe if "description" in df.value
    )
    # The quality view lists each check with its count: the example has L-5 skipping three
    # stages before its start (Sales-sourced) and no other problem.
    assert "Skipped stages: 3" in [e.label for e in at.expander]
    assert "Events out of order: 0" in [e.label for e in at.expander]
    assert "Columns are matched by their header name" in shown


def test_upload_preview_import_and_report(store_db, page_app):
    at = page_app(PAGE).run()
    at.selectbox(key="data_mapping").set_value("hubspot_contacts")
    # The name is shown as plain text (never in a heading, where Markdown in it would be drawn),
    # and never used as a path.
    at.file_uploader(key="data_upload").set_value(
        ("../../contacts.csv", (EXAMPLES / "hubspot_contacts.csv").read_bytes(), "text/csv")
    )
    at.run()
    no_errors(at)
    assert any("Preview of file 1" in s.value for s in at.subheader)
    assert "../../contacts.csv" in [t.value for t in at.text]
    # After the columns tables (one per file role of the mapping).
    preview = next(df.value for df in at.dataframe if "event_type" in df.value)
    assert preview["event_type"].tolist()[:6] == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    assert not (store_db.parent.parent / "contacts.csv").exists()
    at.checkbox(key="data_fresh").set_value(False)
    at.button(key="data_import").click().run()
    no_errors(at)
    assert any("Imported in" in s.value for s in at.success)
    assert metrics(at) == {"Rows in": "6", "Accepted": "6", "Rejected": "0", "Duplicate": "0"}
    assert "rows in 6 = accepted 6 + rejected 0 + duplicate 0 (holds)" in texts(at)
    # The store now holds both imports; the dashboard's cache is keyed on the new file.
    assert query(store_db, "select count(*) from events") == [(23 + 17,)]
    assert len(importer.versions(store_db)) == 1  # the version before this import


def test_rejected_rows_are_shown_with_reasons_and_downloadable(store_db, page_app):
    # 10 good rows and one with an impossible date: 1 of 11 is under the 10% limit.
    good = [f"N{i},N-L{i},,lead,2025-03-0{1 + i % 9} 09:00:00,O-M1,marketing,," for i in range(10)]
    bad = "N99,N-L99,,mql,2025-02-30 09:00:00,O-M1,marketing,,"
    body = (HEADER + "\n" + "\n".join([*good[:5], bad, *good[5:]]) + "\n").encode()
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(("march.csv", body, "text/csv"))
    at.run()
    # The preview already marks the bad row.
    preview = at.dataframe[1].value
    assert preview.loc[preview["row_number"] == 7, "status"].tolist() == ["rejected"]
    at.button(key="data_import").click().run()
    no_errors(at)
    assert metrics(at) == {"Rows in": "11", "Accepted": "10", "Rejected": "1", "Duplicate": "0"}
    issues = next(df.value for df in at.dataframe if "severity" in df.value and "raw" in df.value)
    assert issues["row_number"].tolist() == [7]
    assert "impossible date '2025-02-30 09:00:00'" in issues["reason"].iloc[0]
    labels = [b.label for b in at.get("download_button")]
    assert "Download rejected and flagged rows" in labels


def test_a_refused_file_says_why_and_changes_nothing(store_db, page_app):
    before = store_db.read_bytes()
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(("empty.csv", (HEADER + "\n").encode(), "text/csv"))
    at.run()
    assert any("would be refused" in e.value for e in at.error)
    assert "no data rows" in codes(at)
    at.button(key="data_import").click().run()
    no_errors(at)
    assert any("store is unchanged" in e.value for e in at.error)
    assert store_db.read_bytes() == before


def test_rollback_from_the_page(store_db, tmp_path, page_app):
    extra = tmp_path / "extra.csv"
    extra.write_text(HEADER + "\nX1,X-L1,,lead,2025-03-01 09:00:00,O-M1,marketing,,\n", encoding="utf-8")
    run(tmp_path, extra, "event_log", db=store_db)
    assert query(store_db, "select count(*) from events") == [(24,)]
    at = page_app(PAGE).run()
    assert at.button(key="data_rollback").disabled  # needs the confirmation first
    at.checkbox(key="data_rollback_sure").check().run()
    at.button(key="data_rollback").click().run()
    no_errors(at)
    assert any("Rolled back" in s.value for s in at.success)
    assert query(store_db, "select count(*) from events") == [(23,)]
    # The history shown is the restored version's: the undone import is gone from it.
    history = next(df.value for df in at.dataframe if "description" in df.value)
    assert not history["description"].str.contains("extra.csv").any()
    assert history["description"].str.contains("event_log.csv").any()


def test_a_custom_mapping_uploaded_on_the_page(store_db, tmp_path, page_app):
    from tests.import_helpers import log_mapping

    at = page_app(PAGE).run()
    at.selectbox(key="data_mapping").set_value("custom").run()
    assert any("Upload a mapping" in i.value for i in at.info)
    # A broken mapping is refused with the key at fault.
    at.file_uploader(key="data_mapping_file").set_value(
        ("m.toml", b'[[files]]\nrole = "x"\nshape = "tall"\n', "text/plain")
    )
    at.run()
    assert any("cannot be used" in e.value for e in at.error)
    assert "shape" in codes(at)
    # A valid one (our event log, but times in Berlin) is used for the import.
    mapping = log_mapping(tmp_path, tz="Europe/Berlin").read_bytes()
    at.file_uploader(key="data_mapping_file").set_value(("berlin.toml", mapping, "text/plain"))
    body = (HEADER + "\nB1,B-L1,,lead,2025-01-10 10:00:00,O-M1,marketing,,\n").encode()
    at.run()
    at.file_uploader(key="data_upload").set_value(("berlin.csv", body, "text/csv"))
    at.run()
    at.button(key="data_import").click().run()
    no_errors(at)
    # 10:00 in Berlin (UTC+1 in January) is stored as 09:00 UTC.
    assert query(store_db, "select cast(occurred_at as varchar) from events where event_id = 'B1'") == [
        ("2025-01-10 09:00:00",)
    ]


# --- text from an upload is never drawn as Markdown (issue 14, item 6) --------------------------

EVIL = re.compile(r"evil\.example")  # a link, an image or a bare address: none may reach Markdown


def markdown_with_evil(at) -> list[tuple[str, str]]:
    from tests.test_hostile import markdown_strings

    return [(where, text) for where, text in markdown_strings(at) if EVIL.search(text)]


def test_an_upload_s_name_and_header_are_shown_as_plain_text_only(store_db, page_app):
    name = "![i](https://evil.example/i.png) [x](https://evil.example).csv"
    header = "[click](https://evil.example),![p](https://evil.example/p.png),https://evil.example"
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value((name, (header + "\na,b,c\n").encode(), "text/csv"))
    at.run()
    no_errors(at)
    # No preset fits: the headers are the options of the plain choices (and quoted in the
    # reasons, as plain text), never Markdown.
    assert name in [t.value for t in at.text]
    assert markdown_with_evil(at) == []
    box = {s.key.rsplit("-", 1)[-1]: s for s in at.selectbox}
    box["shape"].set_value("long").run()
    box = {s.key.rsplit("-", 1)[-1]: s for s in at.selectbox}
    assert "[click](https://evil.example)" in box["id"].options
    box["id"].set_value("[click](https://evil.example)")
    box["stage"].set_value("https://evil.example").run()
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.endswith("-date-long"))).set_value(
        "![p](https://evil.example/p.png)"
    ).run()
    no_errors(at)
    assert markdown_with_evil(at) == []
    at.button(key="data_import").click().run()
    no_errors(at)
    assert name in [t.value for t in at.text]  # the report names the file, as text
    assert any("Refused: nothing from this file was imported." in e.value for e in at.error)
    assert markdown_with_evil(at) == []


def test_a_mapping_s_values_in_its_error_are_plain_text_only(store_db, page_app):
    at = page_app(PAGE).run()
    at.selectbox(key="data_mapping").set_value("custom").run()
    toml = b'[[files]]\nrole = "events"\nshape = "![p](https://evil.example/p.png)"\n'
    at.file_uploader(key="data_mapping_file").set_value(
        ("![m](https://evil.example).toml", toml, "text/plain")
    )
    at.run()
    no_errors(at)
    assert any("cannot be used" in e.value for e in at.error)
    assert "https://evil.example/p.png" in codes(at)
    assert markdown_with_evil(at) == []


# --- the preview: first rows only, once per upload (item 5) --------------------------------------


PREVIEW_BYTES = 1 << 20  # pages/data_admin.py: how much of an upload the preview reads


@pytest.fixture
def preview_calls(monkeypatch) -> list:
    """The sources importer.preview is called with, on the page."""
    calls: list = []
    real = importer.preview

    def recording(source, *args, **kwargs):
        calls.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(importer, "preview", recording)
    return calls


def test_the_preview_reads_the_first_rows_once_per_upload(store_db, page_app, preview_calls):
    # 60,000 rows, about 3.7 MB: the preview reads the first MB, cut after a whole line, once.
    rows = [f"P{i},P-L{i},,lead,2025-03-01 09:00:00,O-M1,marketing,," for i in range(60_000)]
    body = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    assert len(body) > 3 * PREVIEW_BYTES
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(("big.csv", body, "text/csv"))
    at.run()
    no_errors(at)
    (source,) = preview_calls
    assert source.size <= PREVIEW_BYTES and source.data.endswith(b"\n") and body.startswith(source.data)
    preview = at.dataframe[1].value
    assert preview["row_number"].tolist() == list(range(2, 22))  # the first 20 data rows
    # Any other click reruns the page: the preview is not computed again.
    at.checkbox(key="data_fresh").set_value(True).run()
    at.run()
    no_errors(at)
    assert len(preview_calls) == 1
    assert at.dataframe[1].value["row_number"].tolist() == list(range(2, 22))
    # Another mapping is another preview.
    at.selectbox(key="data_mapping").set_value("hubspot_contacts").run()
    assert len(preview_calls) == 2


# --- odd amounts: the page names the row and column (item 3; the importer's part is part A) -------


@pytest.mark.parametrize("amount", ["\u0661\u0662\u0663", "\uff11\uff12\uff13", "999999999999.999"])
def test_an_odd_amount_is_a_rejected_row_naming_its_row_and_column(store_db, page_app, amount):
    good = [f"G{i},G-L{i},G-D{i},won,2025-03-0{1 + i} 09:00:00,O-S1,sales,,1000" for i in range(5)]
    odd = f"Z1,Z-L1,Z-D1,won,2025-03-08 09:00:00,O-S1,sales,,{amount}"
    body = (HEADER + "\n" + "\n".join([*good, odd]) + "\n").encode()  # the odd row is row 7
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(("amounts.csv", body, "text/csv"))
    at.run()
    at.checkbox(key="data_fresh").set_value(False)
    at.button(key="data_import").click().run()
    no_errors(at)
    assert not any("unexpected error" in e.value for e in at.error)  # not the page's safety net
    assert metrics(at)["Rejected"] == "1"
    issues = next(df.value for df in at.dataframe if "severity" in df.value and "raw" in df.value)
    assert issues["row_number"].tolist() == [7]
    assert issues["column_name"].tolist() == ["amount"]
    assert amount in issues["raw"].iloc[0] and issues["reason"].iloc[0]


# --- a new store's funnel, proposed from the upload and confirmed on the page (issue: your CRM) ---


def test_a_new_store_confirms_the_funnel_its_upload_proposes(tmp_path, use_store, page_app):
    from queries import contracts

    db = use_store(tmp_path / "new.duckdb")  # no store yet
    at = page_app(PAGE).run()
    at.selectbox(key="data_mapping").set_value("salesforce_opportunities")
    at.file_uploader(key="data_upload").set_value(
        [
            ("Opportunity.csv", (EXAMPLES / "sf_es_Opportunity.csv").read_bytes(), "text/csv"),
            ("OpportunityHistory.csv", (EXAMPLES / "sf_es_OpportunityHistory.csv").read_bytes(), "text/csv"),
        ]
    )
    at.run()
    no_errors(at)
    assert "Your funnel" in [s.value for s in at.subheader]
    editor = next(d for d in at.dataframe if "Name in your data" in d.value.columns).value
    # The org's own stages in the order records reach them, with the records that entered each.
    assert editor["Label"].tolist() == [
        "Prospección",
        "Calificación",
        "Propuesta",
        "Negociación",
        "Cerrada ganada",
        "Cerrada perdida",
    ]
    assert editor["Records"].tolist()[:5] == [7, 5, 4, 3, 4]
    # An exit's records too, never "None": Cerrada perdida is entered by 002 (5 Mar), 003
    # (15 Feb, re-opened and won later: it entered it all the same) and 006 (25 Mar) = 3.
    assert editor["Records"].tolist()[5] == 3
    assert at.number_input(key="data-proposal-window").value == 90
    # Nothing is written before the import.
    assert not db.exists()
    at.button(key="data_import").click().run()
    no_errors(at)
    assert any("Imported in" in s.value for s in at.success)
    c = contracts.current(db)
    assert [s.label for s in c.stages][-1] == "Cerrada ganada"
    assert [(e.label, e.kind) for e in c.exits] == [("Cerrada perdida", "lost")]
    assert query(db, "select source from contract_versions") == [("proposal, confirmed on the Data page",)]


def test_the_contract_tab_applies_a_changed_contract_and_keeps_the_old_version(tmp_path, use_store, page_app):
    from data import contract as contract_mod
    from data import store as store_mod
    from queries import contracts

    db = use_store(store_mod.build_sample(tmp_path / "s.duckdb", n_leads=300))
    text = contract_mod.default_text().replace('label = "Sales accepted"', 'label = "Accepted by Sales"')
    at = page_app(PAGE).run()
    at.file_uploader(key=contract_editor_upload()).set_value(("funnel.toml", text.encode(), "text/plain"))
    at.run()
    no_errors(at)
    at.button(key="contract_apply").click().run()
    no_errors(at)
    assert any("Applied" in s.value for s in at.success)
    assert contracts.current(db).stage("sal").label == "Accepted by Sales"
    assert [v[0] for v in query(db, "select source from contract_versions order by version")] == [
        "default",
        "data page",
    ]
    # Every page follows the new contract at once: Funnel health's funnel names the new label.
    health = page_app("pages/health.py").run()
    table = next(d.value for d in health.dataframe if "Reached" in d.value.columns)
    assert "Accepted by Sales" in table["Stage"].tolist()


def test_an_invalid_contract_is_refused_naming_the_key(tmp_path, use_store, page_app):
    from data import contract as contract_mod
    from data import store as store_mod

    use_store(store_mod.build_sample(tmp_path / "s.duckdb", n_leads=300))
    bad = contract_mod.default_text().replace('skip_policy = "implied"', 'skip_policy = "loose"')
    at = page_app(PAGE).run()
    at.file_uploader(key=contract_editor_upload()).set_value(("funnel.toml", bad.encode(), "text/plain"))
    at.run()
    assert any("skip_policy: expected one of ['implied', 'strict']" in c.value for c in at.code)
    assert not [b for b in at.button if b.key == "contract_apply"]


def contract_editor_upload() -> str:
    from ui import contract_editor

    return contract_editor.UPLOAD_KEY


def test_an_upload_shows_its_detected_shape_and_its_counts_per_stage_before_anything_is_written(
    store_db, page_app
):
    before = store_db.read_bytes()
    at = page_app(PAGE).run()
    at.selectbox(key="data_mapping").set_value("hubspot_contacts")
    # A name with Markdown in it: shown as text, so no link or image is ever drawn.
    name = "![x](http://example.invalid/p.png) contacts.csv"
    at.file_uploader(key="data_upload").set_value(
        (name, (EXAMPLES / "hubspot_contacts_v2_ui.csv").read_bytes(), "text/csv")
    )
    at.run()
    no_errors(at)
    shown = [t.value for t in at.text]
    assert any(
        t.startswith(
            f"{name}: HubSpot contacts export (UI labels), preset hubspot_contacts (file role 'contacts'"
        )
        for t in shown
    )
    assert not any("example.invalid" in m.value for m in [*at.markdown, *at.caption])
    # Counts per stage from the file, hand-counted: 9101 all six stages; 9102 Lead, MQL; 9103
    # Lead, MQL, SAL, SQL.
    counts = next(df.value for df in at.dataframe if "records entering it" in df.value)
    by_stage = dict(zip(counts["stage or exit"], counts["records entering it"], strict=True))
    assert {k: by_stage[k] for k in ["Lead (inquiry)", "Marketing qualified", "Sales accepted"]} == {
        "Lead (inquiry)": 3,
        "Marketing qualified": 3,
        "Sales accepted": 2,
    }
    assert (by_stage["Sales qualified"], by_stage["Opportunity"], by_stage["Closed won"]) == (2, 1, 1)
    assert "3 rows read from the first 1 MB of each file (0 of them would be rejected)" in texts(at)
    assert store_db.read_bytes() == before  # nothing written before Import


def test_an_upload_of_unknown_shape_gets_its_choices_with_what_is_left_open(store_db, page_app):
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(
        (
            "pipeline.csv",
            b"Ref ID,Account ID,Phase,Entered\nR1,A1,Intro,2025-01-02\nR2,A2,Demo,2025-01-03\n",
            "text/csv",
        )
    )
    at.run()
    no_errors(at)
    shown = "\n".join(t.value for t in at.text)
    assert "pipeline.csv: unknown shape" in shown
    assert "undecided: which column is the record's id: 'Ref ID', 'Account ID' all look like ids" in shown
    # The choices left open are an explicit "choose…", with the reason in words as plain text.
    (shape,) = [s for s in at.selectbox if s.key.endswith("-shape")]
    assert shape.value is None and shape.placeholder == "choose…"
    assert "Left for you to choose: the shape: a row per move (long)" in shown
    assert any("Choose file 1: the shape of the file" in i.value for i in at.info)
    shape.set_value("long").run()
    (id_box,) = [s for s in at.selectbox if s.key.endswith("-id")]
    assert id_box.value is None and id_box.placeholder == "choose…"
    shown = "\n".join(t.value for t in at.text)
    assert (
        "Left for you to choose: which column is the record's id: 'Ref ID', 'Account ID' all look like ids"
        in shown
    )
    # Nothing to preview, count or import until it is chosen; no mapping to download yet.
    assert any("Choose file 1: the column with the record's id" in i.value for i in at.info)
    assert "What the import would add, per stage" not in [s.value for s in at.subheader]
    assert at.button(key="data_import").disabled
    assert "Download this mapping (.toml)" not in [b.label for b in at.get("download_button")]
    id_box.set_value("Ref ID").run()
    no_errors(at)
    assert [s.value for s in at.selectbox if s.key.endswith(("-stage", "-date-long"))] == ["Entered", "Phase"]
    assert "What the import would add, per stage" in [s.value for s in at.subheader]
    assert not at.button(key="data_import").disabled
    assert "Download this mapping (.toml)" in [b.label for b in at.get("download_button")]


# --- the guided import: a file of its own shape, read through plain choices ----------------------

GUIDED = Path(__file__).resolve().parent / "fixtures" / "guided_opportunities.csv"


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """{file name: bytes} of every download button the page draws."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            seen[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return seen


def stage_table(at) -> dict[str, int]:
    counts = next(df.value for df in at.dataframe if "records entering it" in df.value)
    return dict(zip(counts["stage or exit"], counts["records entering it"], strict=True))


def box(at, suffix: str):
    (found,) = [s for s in [*at.selectbox, *at.multiselect] if s.key.endswith(suffix) or suffix in s.key]
    return found


def test_a_file_of_its_own_shape_is_imported_through_plain_choices(tmp_path, use_store, page_app, downloads):
    # An opportunity list no preset knows: Opp Ref, Company, Phase (Won, Lost, Abandoned and open
    # phases), Opened On, Closed On (of won and lost ones), Value. Q-10 has no date at all.
    db = use_store(tmp_path / "new.duckdb")  # a new store: the funnel is proposed from the file
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value((GUIDED.name, GUIDED.read_bytes(), "text/csv"))
    at.run()
    no_errors(at)
    # Pre-filled from the file's first rows.
    chosen = {s.label: s.value for s in at.selectbox if s.key.startswith("guided-")}
    assert chosen == {
        "Each row of the file is": "status",
        "Each record is": "opportunity",  # the id column names an opportunity
        "Column with the record's id": "Opp Ref",
        "Column with the record's start (its created date)": "Opened On",
        "Column with the status": "Phase",
        "Column with the amount (optional)": "Value",
        "Column that dates a won or lost status": "Closed On",
    }
    assert box(at, "-won-").value == ["Won"] and box(at, "-lost-").value == ["Lost"]
    assert box(at, "-lost-").options == ["Won", "Lost", "Abandoned", "Discovery", "Proposal", "Negotiation"]
    # Hand-counted: Q-01..Q-09 have an Opened On (Q-10 none); won; lost.
    assert stage_table(at) == {"Created": 9, "Won": 2, "Lost": 2}
    # One choice changed: Abandoned is lost too (Q-05, Q-07, closed on 2 and 10 April). The
    # proposed funnel and the counts follow at once; nothing is written yet.
    box(at, "-lost-").set_value(["Lost", "Abandoned"]).run()
    no_errors(at)
    assert stage_table(at) == {"Created": 9, "Won": 2, "Abandoned": 2, "Lost": 2}
    assert not db.exists()
    text = downloads["handoff-mapping.toml"]
    text = text.decode("utf-8") if isinstance(text, bytes) else text
    assert 'lost_values = ["Lost", "Abandoned"]' in text and 'deal_id = "Opp Ref"' in text

    at.button(key="data_import").click().run()
    no_errors(at)
    assert any("Imported in" in s.value for s in at.success)
    assert "1 open records with no date kept as undated open pipeline" in texts(at)
    # 9 created + 2 won (with their amounts) + 2 lost + 2 abandoned, each opportunity once.
    events = query(
        db,
        "select deal_id, event_type, cast(occurred_at as date)::varchar, amount from events "
        "where lead_id is null order by deal_id, occurred_at",
    )
    assert [e for e in events if e[1] != "created"] == [
        ("Q-01", "won", "2025-02-20", 12000),
        ("Q-02", "lost", "2025-03-01", None),
        ("Q-03", "won", "2025-03-15", 5000),
        ("Q-05", "abandoned", "2025-04-02", None),
        ("Q-07", "abandoned", "2025-04-10", None),
        ("Q-09", "lost", "2025-04-15", None),
    ]
    assert sorted(e[0] for e in events if e[1] == "created") == [f"Q-0{i}" for i in range(1, 10)]
    assert query(db, "select count(*) from events") == [(15,)]
    # The store's funnel is the one confirmed on the page: Created, Won; Abandoned and Lost are
    # both exits of kind lost.
    funnel = importer.store_contract(db)
    assert [s.label for s in funnel.stages] == ["Created", "Won"]
    assert sorted((e.label, e.kind) for e in funnel.exits) == [("Abandoned", "lost"), ("Lost", "lost")]

    # The downloaded mapping, saved to a file, imports the same file from the command line with
    # the same counts and the same events.
    path = tmp_path / "handoff-mapping.toml"
    path.write_text(text, encoding="utf-8")
    cli_db = tmp_path / "cli.duckdb"
    counts = importer.stage_counts(
        [importer.Source.from_path(GUIDED)],
        path,
        contract=importer.propose_contract([importer.Source.from_path(GUIDED)], path).contract,
    )
    assert dict(zip(counts["label"], counts["records"], strict=True)) == {
        "Created": 9,
        "Won": 2,
        "Abandoned": 2,
        "Lost": 2,
    }
    argv = [str(GUIDED), "--mapping", str(path), "--db", str(cli_db), "--accept-proposal"]
    assert importer.main(argv) == 0
    same = "select event_id, deal_id, event_type, occurred_at, amount from events order by event_id"
    assert query(cli_db, same) == query(db, same)
    # With the funnel confirmed on the page too (its download), the command line builds the
    # same store: the same events under the same funnel.
    funnel_path = tmp_path / "funnel.toml"
    funnel_text = downloads["funnel.toml"]
    funnel_path.write_bytes(funnel_text if isinstance(funnel_text, bytes) else funnel_text.encode())
    cli_db2 = tmp_path / "cli2.duckdb"
    argv = [str(GUIDED), "--mapping", str(path), "--db", str(cli_db2), "--contract", str(funnel_path)]
    assert importer.main(argv) == 0
    assert query(cli_db2, same) == query(db, same)
    assert importer.store_contract(cli_db2) == funnel


def test_a_file_of_its_own_shape_never_reaches_markdown_on_the_way_to_its_funnel(
    tmp_path, use_store, page_app
):
    # Status values, the file's name and its headers with links and images in them, in a new
    # store: they reach the choices, the proposed funnel (its notes quote the names), the
    # preview and the counts, all as plain text, options or tables.
    use_store(tmp_path / "new.duckdb")
    body = (
        b"Deal Ref,[s](https://evil.example),Opened,Closed\n"
        b"D1,[Won](https://evil.example/w),2025-01-02,2025-02-01\n"
        b"D2,![x](https://evil.example/x.png),2025-01-03,\n"
        b"D3,![x](https://evil.example/x.png),2025-01-04,\n"
        b"D4,Lost,2025-01-05,2025-02-03\n"
    )
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(("[f](https://evil.example).csv", body, "text/csv"))
    at.run()
    no_errors(at)
    assert box(at, "-stage").value == "[s](https://evil.example)"
    box(at, "-won-").set_value(["[Won](https://evil.example/w)"]).run()
    no_errors(at)
    assert "Your funnel" in [s.value for s in at.subheader]
    assert stage_table(at)["[Won](https://evil.example/w)"] == 1
    assert markdown_with_evil(at) == []


def test_uploads_of_the_same_columns_share_one_set_of_choices(tmp_path, use_store, page_app):
    # The fixture and a later file of the same columns: Q-11 won, Q-12 open.
    use_store(tmp_path / "new.duckdb")
    header = GUIDED.read_text(encoding="utf-8").splitlines()[0]
    later = f"{header}\nQ-11,Acme,Won,2025-03-02,2025-03-30,1000\nQ-12,Hooli,Discovery,2025-03-04,,\n"
    at = page_app(PAGE).run()
    at.file_uploader(key="data_upload").set_value(
        [(GUIDED.name, GUIDED.read_bytes(), "text/csv"), ("later.csv", later.encode(), "text/csv")]
    )
    at.run()
    no_errors(at)
    assert "**How to read file 1, 2**" in [m.value for m in at.markdown]
    assert len([s for s in at.selectbox if s.key.endswith("-shape")]) == 1
    assert stage_table(at) == {"Created": 11, "Won": 3, "Lost": 2}
    at.button(key="data_import").click().run()
    no_errors(at)
    assert any("Imported in" in s.value for s in at.success)
    # 11 created, 3 won, 2 lost (Abandoned is an open status here).
    assert query(tmp_path / "new.duckdb", "select count(*) from events") == [(16,)]


def test_a_date_per_stage_file_is_read_by_the_stage_each_date_column_dates(store_db, page_app):
    # mql_list.csv (MQL ID, Name, Company, MQL Date, Source, Segment): 9 MQLs, into the live
    # store's default funnel. "MQL Date" names its stage; the record's created date is it too.
    at = page_app(PAGE).run()
    body = (EXAMPLES / "mql_list.csv").read_bytes()
    at.file_uploader(key="data_upload").set_value(("mql_list.csv", body, "text/csv"))
    at.run()
    no_errors(at)
    chosen = {s.label: s.value for s in at.selectbox if s.key.startswith("guided-")}
    assert chosen == {
        "Each row of the file is": "wide",
        "Each record is": "lead",
        "Column with the record's id": "MQL ID",
        "Column with the record's created date": "MQL Date",
        "Column with the amount (optional)": "",
        "dates the stage": "mql",
    }
    assert "MQL Date" in [t.value for t in at.text]  # the header above its choice, as text
    assert stage_table(at)["Marketing qualified"] == 9
    at.button(key="data_import").click().run()
    no_errors(at)
    assert query(
        store_db, "select count(*) from events where event_type = 'mql' and event_id like 'guided:%'"
    ) == [(9,)]
