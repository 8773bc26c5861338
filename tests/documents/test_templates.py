"""forms/ loading: the shipped forms are valid, and every kind of mistake names the file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ceremony.documents.model import Paper
from ceremony.documents.render import render_acknowledgement
from ceremony.documents.templates import (
    ACKNOWLEDGEMENT,
    SPECS,
    default_forms_dir,
    load_forms,
    parse_form,
)
from ceremony.errors import TemplateError

from .samples import acknowledgement_data, pdf_text

FORMS = default_forms_dir()


@pytest.fixture
def forms_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    shutil.copytree(FORMS, folder)
    return folder


def test_shipped_forms_load() -> None:
    formset = load_forms()
    assert set(formset.forms) == set(SPECS)
    assert formset.organisation.paper in (Paper.A4, Paper.LETTER)
    assert formset.organisation.name


def _replace_line(path: Path, old: str, new: str) -> int:
    """Replace the line containing ``old``; return its 1-based number."""
    lines = path.read_text().splitlines()
    for n, line in enumerate(lines, 1):
        if old in line:
            lines[n - 1] = line.replace(old, new)
            path.write_text("\n".join(lines) + "\n")
            return n
    raise AssertionError(f"{old!r} not in {path}")


def test_unknown_placeholder_names_file_and_line(forms_copy: Path) -> None:
    form = forms_copy / "acknowledgement.md"
    n = _replace_line(form, "{custodian_role}", "{custodian_rank}")
    with pytest.raises(TemplateError) as err:
        load_forms(forms_copy)
    message = str(err.value)
    assert str(form) in message
    assert f"line {n}:" in message
    assert "{custodian_rank}" in message


def test_unknown_placeholder_in_table_row(forms_copy: Path) -> None:
    form = forms_copy / "reaffirmation.md"
    n = _replace_line(form, "{envelope_serial}", "{custodian_name}")  # a document field, not a row field
    with pytest.raises(TemplateError, match=rf"reaffirmation\.md, line {n}: unknown placeholder"):
        load_forms(forms_copy)


def test_missing_required_placeholder_names_file(forms_copy: Path) -> None:
    form = forms_copy / "acknowledgement.md"
    _replace_line(form, "**{kcv}**", "(see the ledger)")
    with pytest.raises(TemplateError) as err:
        load_forms(forms_copy)
    message = str(err.value)
    assert str(form) in message
    assert "{kcv}" in message and "3.7.8" in message
    assert re.search(r"lines 1-\d+", message)


def test_missing_value_at_render_names_file_and_line(tmp_path: Path) -> None:
    # A form checked against a wider spec than the renderer fills: the renderer must still name the line.
    source = (
        "# T\n\nKey {key_label} held by {custodian_name}.\n{kcv} {kcv_method} {split_id} {share_number}\n"
    )
    source += "{custodian_employee_id} {custodian_role} {key_type}\n"
    source += "@signatures\nA | {witness_name}\n@end\n@checkpoint\n"
    form = parse_form(source, tmp_path / "x.md", ACKNOWLEDGEMENT)
    paragraph = next(b for b in form.blocks if b.kind == "paragraph")
    assert paragraph.text is not None
    with pytest.raises(TemplateError, match=r"x\.md, line 3: no value for placeholder \{key_label\}"):
        form.fill(paragraph.text, {"custodian_name": "A"})


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("Key {key_label", "broken placeholder"),
        ("Key {Key_Label}", "broken placeholder"),
        ("Key } here", "without its"),
        ("**bold never closed", "not closed"),
        ("@frobnicate", "unknown block '@frobnicate'"),
        ("@end", "'@end' without an opening block"),
        ("@share", "share card only"),
        ("@table holdings\nA | {key_label}\n@end", "no table 'holdings'"),
        ("# A second title", "second '# Title'"),
        ("#### Too deep", "heading"),
        ("<!-- never closed", "never closed"),
    ],
)
def test_broken_template_names_file_and_line(forms_copy: Path, broken: str, expected: str) -> None:
    form = forms_copy / "acknowledgement.md"
    lines = form.read_text().splitlines()
    at = next(n for n, line in enumerate(lines, 1) if line.startswith("## Responsibilities"))
    lines.insert(at, broken)  # becomes line at + 1
    form.write_text("\n".join(lines) + "\n")
    with pytest.raises(TemplateError) as err:
        load_forms(forms_copy)
    message = str(err.value)
    assert f"{form}, line {at + 1}" in message, message
    assert expected in message


def test_block_without_end(forms_copy: Path) -> None:
    form = forms_copy / "share_card.md"
    text = form.read_text()
    share_line = text.splitlines().index("@share")  # 1-based, after the @end line above it is removed
    form.write_text(text.replace("@end\n", "", 1))
    with pytest.raises(
        TemplateError, match=rf"share_card\.md, line {share_line}: @share inside @fields \(missing @end"
    ):
        load_forms(forms_copy)


def test_block_never_closed_names_opening_line(forms_copy: Path) -> None:
    form = forms_copy / "minutes.md"
    lines = [*form.read_text().splitlines(), "@fields", "Note | {purpose}"]
    form.write_text("\n".join(lines) + "\n")
    with pytest.raises(TemplateError, match=rf"minutes\.md, line {len(lines) - 1}: @fields is never closed"):
        load_forms(forms_copy)


def test_row_without_bar(forms_copy: Path) -> None:
    form = forms_copy / "minutes.md"
    n = _replace_line(form, "Purpose | {purpose}", "Purpose {purpose}")
    with pytest.raises(TemplateError, match=rf"minutes\.md, line {n}: a row of @fields"):
        load_forms(forms_copy)


def test_required_block_missing(forms_copy: Path) -> None:
    form = forms_copy / "share_card.md"
    form.write_text("\n".join(x for x in form.read_text().splitlines() if x != "@share") + "\n")
    with pytest.raises(
        TemplateError, match=r"share_card\.md, lines 1-\d+: the share_card form must contain @share"
    ):
        load_forms(forms_copy)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('paper = "A5"', 'paper must be "A4" or "Letter"'),
        ('colour = "blue"', "unknown setting 'colour'"),
        ('logo = "missing.png"', "logo file 'missing.png' not found"),
        ('name = ""', "name (the organisation) is required"),
    ],
)
def test_organisation_errors(forms_copy: Path, line: str, expected: str) -> None:
    toml = forms_copy / "organisation.toml"
    key = line.split()[0]
    lines = [x for x in toml.read_text().splitlines() if not x.startswith(key)]
    lines.append(line)
    toml.write_text("\n".join(lines) + "\n")
    with pytest.raises(TemplateError) as err:
        load_forms(forms_copy)
    assert str(toml) in str(err.value)
    assert f"line {len(lines)}" in str(err.value)
    assert expected in str(err.value)


def test_broken_toml(forms_copy: Path) -> None:
    (forms_copy / "organisation.toml").write_text('name = "unterminated\n')
    with pytest.raises(TemplateError, match=r"organisation\.toml.*line 1"):
        load_forms(forms_copy)


def test_edited_wording_and_literal_braces_reach_the_page(forms_copy: Path) -> None:
    form = forms_copy / "acknowledgement.md"
    _replace_line(form, "As a key custodian I understand", "Per policy KM-7 {{section 4}} I understand")
    (forms_copy / "organisation.toml").write_text('name = "Acme <Bank> & Co"\npaper = "Letter"\n')
    formset = load_forms(forms_copy)
    pdf = render_acknowledgement(acknowledgement_data(), forms=formset)
    text = pdf_text(pdf)
    assert "Per policy KM-7 {section 4} I understand" in text
    assert "Acme <Bank> & Co" in text  # escaped, not taken as markup


def test_values_cannot_inject_markup(forms_copy: Path) -> None:
    from dataclasses import replace

    from ceremony.documents.model import Person

    data = replace(
        acknowledgement_data(), custodian=Person("Eve <b>**Bold**</b> & Co", "E1", "Key custodian")
    )
    text = pdf_text(render_acknowledgement(data, forms=load_forms(forms_copy)))
    assert "Eve <b>**Bold**</b> & Co" in text


def test_readme_documents_every_placeholder_and_table() -> None:
    readme = (FORMS / "README.md").read_text()
    for spec in SPECS.values():
        for name in spec.placeholders:
            assert "{" + name + "}" in readme, (spec.name, name)
        for table, row in spec.tables.items():
            assert f"`{table}`" in readme or f"@table {table}" in readme, table
            for name in row:
                assert "{" + name + "}" in readme, (table, name)


def test_notice_lines_join_into_one_boxed_notice(tmp_path: Path) -> None:
    source = (FORMS / "share_card.md").read_text()
    form = parse_form(source, tmp_path / "share_card.md", SPECS["share_card"])
    notices = [b for b in form.blocks if b.kind == "callout"]
    assert len(notices) == 1
    assert notices[0].text is not None
    text = form.fill(notices[0].text, {})
    assert text.startswith("<b>Seal in envelope in front of the witness.</b>")
    assert "type this share anywhere else" in text


def test_signature_row_field_column(forms_copy: Path) -> None:
    form = forms_copy / "acknowledgement.md"
    formset = load_forms(forms_copy)
    block = next(b for b in formset["acknowledgement"].blocks if b.kind == "signatures")
    assert block.signers == ("Custodian", "Witness")  # the witness block has a field too (issue 14)
    n = _replace_line(form, "| Custodian", "| Cust odian")
    with pytest.raises(TemplateError, match=rf"acknowledgement\.md, line {n}: signature field 'Cust odian'"):
        load_forms(forms_copy)
    _replace_line(form, "| Cust odian", "| Custodian | extra")
    with pytest.raises(TemplateError, match=rf"line {n}: a row of @signatures must be 'Role \| name'"):
        load_forms(forms_copy)
