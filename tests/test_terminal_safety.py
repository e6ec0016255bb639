"""Terminal and markup injection: rich markup, terminal escapes, C1 controls and bidi overrides
in any user string (display_name, notes, deployment names, trace headers, file names, report
fields) are shown as written and inert, on stdout, on the error line and in JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from helpers import cli, one_line_error
from kvplan.text import one_line, printable

CLEAR = "\x1b[2J\x1b[H"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
SPEC = dict(name="toy", source="test", num_layers=4, hidden_size=256, num_attention_heads=4, num_kv_heads=2,
            head_dim=64, vocab_size=1000, intermediate_size=512, dtype="bf16", max_position_embeddings=4096)


def _control_free(text: str) -> bool:
    return not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) < 0xA0 or 0x202A <= ord(c) <= 0x202E
                   for c in text)


def test_printable_escapes_what_a_terminal_or_xml_would_obey():
    assert printable(f"a{CLEAR}b") == "a\\x1b[2J\\x1b[Hb"
    assert printable(OSC52) == "\\x1b]52;c;ZWNobyBwd25lZA==\\x07"
    assert printable("\x9b2J \u202egnp.exe \ufffe") == "\\x9b2J \\u202egnp.exe \\ufffe"
    assert printable("tab\tnew\nline [/x] Llamα ☃") == "tab\tnew\nline [/x] Llamα ☃"
    assert one_line("a\nb\tc\rd") == "a b c d"


@pytest.fixture
def spec_file(tmp_path):
    def make(**over):
        path = tmp_path / "s.yaml"
        path.write_text(json.dumps({**SPEC, **over}))
        return path

    return make


@pytest.mark.parametrize("command", [["size"], ["show"], ["capacity", "--gpu", "h100-sxm"]])
def test_markup_in_a_display_name_is_printed_as_written(capsys, spec_file, command):
    path = spec_file(display_name="[/oops] [bold red]x[/]")
    code, out, err = cli(capsys, command[0], path, *command[1:])
    assert code == 0, err
    assert "[/oops] [bold red]x[/]" in out


@pytest.mark.parametrize("command", [["size"], ["show"], ["capacity", "--gpu", "h100-sxm"]])
def test_escapes_in_a_display_name_are_shown_not_obeyed(capsys, spec_file, command):
    path = spec_file(display_name=CLEAR + OSC52 + "\x9b2J")
    code, out, _ = cli(capsys, command[0], path, *command[1:])
    assert code == 0
    assert "\\x1b[2J\\x1b[H\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x9b2J" in out
    assert _control_free(out)


def test_show_escapes_notes_source_and_aliases(capsys, spec_file):
    path = spec_file(notes=OSC52, source=CLEAR, aliases=["[/x]", "\u202eevil"], architecture="[/a]")
    code, out, _ = cli(capsys, "show", path)
    assert code == 0 and _control_free(out)
    for shown in ("\\x1b]52;c;", "source: \\x1b[2J", "[/x]", "\\u202eevil", "[/a]"):
        assert shown in out


def test_json_output_keeps_user_strings_inert(capsys, spec_file):
    code, out, _ = cli(capsys, "show", spec_file(display_name=CLEAR), "--json")
    assert code == 0 and _control_free(out)
    assert json.loads(out)["spec"]["display_name"] == CLEAR


def _plan(tmp_path, **dep):
    path = tmp_path / "plan.yaml"
    path.write_text(json.dumps({"deployments": [{"name": "a", "model": "llama3-8b", "gpu": "h100-sxm", **dep}]}))
    return path


def test_deployment_names_in_the_table_the_error_line_and_junit(capsys, tmp_path):
    name = "bad\x01" + CLEAR + "<&>[/x]"
    junit = tmp_path / "j.xml"
    code, out, err = cli(capsys, "check", _plan(tmp_path, name=name, requires={"min_kv_tokens": "100M"}),
                         "--junit", junit)
    assert code == 1
    assert _control_free(out) and _control_free(err)
    assert "bad\\x01\\x1b[2J\\x1b[H<&>[/x]" in out
    assert one_line_error(err).startswith("kvplan: check failed: 1 of 3 requirements (bad\\x01\\x1b[2J\\x1b[H<&>[/x]: ")
    tree = ET.parse(junit)  # valid XML: control characters would make it unreadable
    case = tree.getroot().find(".//testcase[@name='min_kv_tokens']")
    assert case.get("classname") == "kvplan.check.bad\\x01\\x1b[2J\\x1b[H<&>[/x]"
    assert all(b >= 32 or b in (9, 10, 13) for b in junit.read_bytes())


def test_junit_with_characters_xml_forbids(tmp_path, capsys):
    junit = tmp_path / "j.xml"
    code, _, _ = cli(capsys, "check", _plan(tmp_path, name="\x0b\x0c\ufffe"), "--junit", junit)
    assert code == 0
    assert ET.parse(junit).getroot().find(".//testcase").get("classname") == "kvplan.check.\\x0b\\x0c\\ufffe"


def test_trace_headers_in_an_error_line(capsys, tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text(f"{CLEAR}prompt,[/oops]{OSC52}\n1,2\n")
    code, _, err = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", trace)
    assert code == 2
    assert one_line_error(err).startswith(
        f"kvplan: error: {trace}: unknown trace format: columns \\x1b[2J\\x1b[Hprompt, "
        f"[/oops]\\x1b]52;c;ZWNobyBwd25lZA==\\x07 match none of the formats")


def test_file_names_in_an_error_line(capsys):
    code, _, err = cli(capsys, "size", CLEAR + ".yaml")
    assert code == 2 and one_line_error(err) == "kvplan: error: \\x1b[2J\\x1b[H.yaml: no such file"
    code, _, err = cli(capsys, "capacity", "llama3-8b", "--gpu", OSC52)
    assert code == 2 and "\\x1b]52;c;" in err and _control_free(err)


def test_a_trace_file_name_in_the_title(capsys, tmp_path):
    trace = tmp_path / "[bold]\x1b[2J.csv"
    trace.write_text("prompt_len,output_len\n10,20\n")
    code, out, _ = cli(capsys, "fragment", "llama3-8b", "--kv-pool-tokens", "64k", "--workload", trace)
    assert code == 0 and _control_free(out)
    assert "[bold]\\x1b[2J.csv: 1 requests" in out


def test_a_saved_report_with_escapes(capsys, tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({
        "schema_version": 1, "model": CLEAR + "[/oops]", "device": {"name": OSC52, "interpret": True},
        "config": {"ctx": 8, "batch": 1, "block_size": 16, "layers_measured": 1, "num_layers": 2},
        "copy_bandwidth": {"gbps": 1.0},
        "formats": [{"kv_dtype": "[/x]" + CLEAR, "status": OSC52, "cache_bytes_predicted": 5}]}))
    code, out, _ = cli(capsys, "report", report)
    assert code == 0 and _control_free(out)
    assert out.startswith("\\x1b[2J\\x1b[H[/oops] on \\x1b]52;c;")


@pytest.mark.parametrize("name", ["$x^$", "$\\frac{$"])
def test_dollar_signs_in_plot_titles_are_text(tmp_path, capsys, spec_file, name):
    out = tmp_path / "p.png"
    code, _, err = cli(capsys, "size", spec_file(display_name=name), "--plot", out)
    assert code == 0, err
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_text_is_printed_once_without_markup_escapes(capsys):
    # The console no longer reads markup, so rich.markup.escape would print its backslashes.
    code, out, err = cli(capsys, "recommend", "llama3-8b", "--ctx", "4k", "--users", "8")
    assert code == 0, err
    assert "price h100-sxm" in out and "\\[" not in out
