"""`linkolis stock load FILE`: the seller's spreadsheet, saved as CSV by whatever program in whatever country, is
read; anything that is not one (a pipe, a device, a huge file, a quote left open) is refused with the line to fix,
never a hang, and nothing is applied."""

from __future__ import annotations

import os
import threading

import pytest

from linkolis_host import stock, stock_files


def levels(run):
    return {r["sku"]: r["on_hand"] for r in run.json("stock", "list")}


def stock_file(tmp_path, content: str | bytes, name="stock.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


@pytest.mark.parametrize(
    "content",
    [
        "sku;quantity\nSKU-A;5\nSKU-B;0\n",  # Excel in Dutch or German
        "\ufeffsku;quantity\r\nSKU-A;5\r\nSKU-B;0\r\n",  # Excel's "CSV UTF-8" there: a BOM, CRLF
        "\ufeffsku,quantity\nSKU-A,5\nSKU-B,0\n",  # "CSV UTF-8" where the separator is a comma
        '"sku";"quantity"\n"SKU-A";"5"\n"SKU-B";"0"\n',  # every field quoted
    ],
    ids=["semicolons", "BOM, semicolons, CRLF", "BOM, commas", "quoted semicolons"],
)
def test_what_excel_saves_in_any_country_is_read(run, tmp_path, content):
    assert run.json("stock", "load", stock_file(tmp_path, content)) == {"loaded": 2}
    assert levels(run) == {"SKU-A": 5, "SKU-B": 0}


def test_old_mac_line_endings_are_read_too(run, tmp_path):
    assert run.json("stock", "load", stock_file(tmp_path, "sku,quantity\rSKU-A,5\rSKU-B,0\r")) == {"loaded": 2}
    assert levels(run) == {"SKU-A": 5, "SKU-B": 0}


def test_a_file_that_is_not_utf8_is_refused_with_the_line_of_the_first_bad_byte(run, tmp_path):
    rows = "".join(f"SKU-{n},{n}\n" for n in range(5000))  # the bad byte well past the first chunk read
    path = stock_file(tmp_path, ("sku,quantity\n" + rows).encode() + "Fahrradständer,4\n".encode("latin-1"))
    result = run("stock", "load", path, code=1)
    assert f'{path} is not UTF-8 text (line 5002); save it as "CSV UTF-8"' in result.stderr
    assert levels(run) == {}


def test_a_bad_row_after_thousands_of_good_ones_still_applies_nothing(run, tmp_path):
    run("stock", "set", "SKU-1", "99")
    rows = "".join(f"SKU-{n},{n % 50}\n" for n in range(stock.COUNT_BATCH * 3))
    result = run("stock", "load", stock_file(tmp_path, "sku,quantity\n" + rows + "SKU-7,8\n"), code=1)
    assert f"line {stock.COUNT_BATCH * 3 + 2}: SKU 'SKU-7' already given on line 9" in result.stderr
    assert levels(run) == {"SKU-1": 99}
    assert run.json("stock", "load", stock_file(tmp_path, "sku,quantity\n" + rows)) == {"loaded": stock.COUNT_BATCH * 3}
    assert len(levels(run)) == stock.COUNT_BATCH * 3


def test_a_dash_reads_the_rows_from_standard_input(run):
    result = run("stock", "load", "-", "--json", input="sku,quantity\nSKU-A,5\n")
    assert result.stdout.strip() == '{\n  "loaded": 1\n}'
    assert levels(run) == {"SKU-A": 5}


def test_standard_input_with_bad_rows_applies_nothing_and_names_the_line(run):
    result = run("stock", "load", "-", input="sku,quantity\nSKU-A,5\nSKU-B,many\n", code=1)
    assert "standard input: 1 bad row, nothing was applied:\n  line 3: 'many' is not a whole number" in result.stderr
    assert levels(run) == {}


def test_a_quoted_field_with_a_newline_is_an_error_naming_its_line_not_a_joined_sku(run, tmp_path):
    path = stock_file(tmp_path, 'sku,quantity\nSKU-A,5\n"SKU-B\nSKU-C",6\nSKU-D,7\n')
    result = run("stock", "load", path, code=1)
    assert "line 3: a quoted field runs on to line 4 (a quote left open?)" in result.stderr
    assert levels(run) == {}


def test_a_quote_left_open_to_the_end_of_the_file_is_an_error_naming_its_line(run, tmp_path):
    path = stock_file(tmp_path, 'sku,quantity\n"SKU-A,5\nSKU-B,6\nSKU-C,7\n')
    assert "line 2: a quoted field runs on to line 4" in run("stock", "load", path, code=1).stderr
    assert levels(run) == {}


def test_a_field_longer_than_the_csv_module_takes_is_an_error_naming_its_line(run, tmp_path):
    path = stock_file(tmp_path, 'sku,quantity\nSKU-A,5\n"' + "x" * 200_000 + '",6\n')
    result = run("stock", "load", path, code=1)
    assert "1 bad row, nothing was applied:\n  line 3: a field is longer than 131,072 characters" in result.stderr
    assert levels(run) == {}


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(run, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(stock_files.MAX_STOCK_FILE_BYTES + 1)  # sparse: no need to write 50 MB
    result = run("stock", "load", str(path), code=1)
    assert f"{path} is 52,428,801 bytes, over the 50 MB a stock file may be; is it the right file?" in result.stderr


def test_standard_input_over_the_size_limit_is_refused(run, monkeypatch):
    monkeypatch.setattr(stock_files, "MAX_STOCK_FILE_BYTES", 1024 * 1024)
    rows = "".join(f"SKU-{n},5\n" for n in range(120_000))
    result = run("stock", "load", "-", input="sku,quantity\n" + rows, code=1)
    assert "standard input holds more than 1 MB: that is not a stock file" in result.stderr
    assert levels(run) == {}


def test_a_device_is_refused(run):
    result = run("stock", "load", "/dev/null", code=1)
    assert "/dev/null is a device, not a regular file; give a CSV file (or '-' to read standard input)" in result.stderr


def test_a_named_pipe_is_refused_and_never_waited_on(run, tmp_path):
    fifo = tmp_path / "stock.csv"
    os.mkfifo(fifo)

    def writer():  # were the pipe read, this would be loaded: the refusal is not for want of rows
        try:
            with open(fifo, "w") as pipe:
                pipe.write("sku,quantity\nSKU-A,5\n")
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = run("stock", "load", str(fifo), code=1)
    assert f"{fifo} is a pipe, not a regular file" in result.stderr
    keep_open = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets a writer still waiting for a reader finish
    thread.join()
    os.close(keep_open)
    assert levels(run) == {}


def test_a_directory_is_refused(run, tmp_path):
    result = run("stock", "load", str(tmp_path), code=2)
    assert "is a directory" in result.stderr
