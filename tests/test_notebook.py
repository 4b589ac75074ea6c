"""The notebooks' shared helpers (`reference.notebook`)."""

import pytest


def test_markdown_table_has_a_rule_and_escapes_pipes():
    from reference.notebook import markdown_table

    text = markdown_table(["model", "score"], [["a|b", 0.5], ["c", 1]])
    assert text.splitlines() == ["| model | score |", "|---|---|", "| a\\|b | 0.5 |", "| c | 1 |"]
    with pytest.raises(ValueError, match="2 cells"):
        markdown_table(["model", "score"], [["only one"]])


def test_machine_shortens_the_cards_hardware():
    from reference.notebook import machine

    assert machine({"hardware": "CPU x86_64, 1 threads"}) == "CPU, 1 thread"
    assert machine({"hardware": "CPU x86_64, 2 threads"}) == "CPU, 2 threads"
    assert machine({"hardware": "NVIDIA H200"}) == "H200"


def test_runtime_says_seconds_under_a_minute_and_minutes_above(monkeypatch, capsys):
    from reference import notebook

    clock = iter([100.0, 142.4, 100.0, 250.0, 0.0, 1.2])
    monkeypatch.setattr(notebook.time, "perf_counter", lambda: next(clock))
    notebook.start_clock()
    assert notebook.runtime() == "42 seconds"
    notebook.start_clock()
    assert notebook.runtime() == "2.5 minutes"
    assert "This notebook ran in 2.5 minutes." in capsys.readouterr().out
    notebook.start_clock()
    assert notebook.runtime() == "1 second"
