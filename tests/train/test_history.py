"""History files and the progress line."""

import io
import json

from kinn.train.history import History
from kinn.train.progress import ProgressLine


def test_history_writes_union_of_columns_to_csv_and_json(tmp_path):
    history = History([{"step": 1, "loss": 0.5}])
    history.append({"step": 2, "loss": 0.25, "rel_l2_u": 0.1})
    history.write(tmp_path)
    assert (tmp_path / "history.csv").read_text() == "step,loss,rel_l2_u\n1,0.5,\n2,0.25,0.1\n"
    assert json.loads((tmp_path / "history.json").read_text())[1]["rel_l2_u"] == 0.1


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_draws_on_a_tty_only():
    tty = _Tty()
    bar = ProgressLine(100, stream=tty, interval=0.0)
    bar.update(10, "adam", 0.5, ("rel_l2_u", 0.01))
    bar.close()
    text = tty.getvalue()
    assert text.startswith("\r10/100 [adam] loss=5.0000e-01 rel_l2_u=1.000e-02")
    assert "it/s" in text and text.endswith("\n")
    pipe = io.StringIO()
    ProgressLine(100, stream=pipe).update(1, "adam", 0.5)
    off = _Tty()
    ProgressLine(100, enabled=False, stream=off).update(1, "adam", 0.5)
    assert pipe.getvalue() == "" and off.getvalue() == ""
