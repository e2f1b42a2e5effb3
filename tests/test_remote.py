"""Panels reached by address: a second real process reports to a panel here."""

import subprocess
import sys
import textwrap
import time
import warnings

import pytest

import poolbars as pb

REPORTER = textwrap.dedent("""
    import sys, time
    import poolbars as pb

    host, port, key = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    remote = pb.connect((host, port), key, name="etl-job")
    for _ in remote.track(range(40), desc="loading rows", unit="rows"):
        time.sleep(0.005)
    with remote.bar(total=3, desc="uploading") as bar:
        for _ in range(3):
            bar.update(1)
    remote.message("all done")
    remote.close()
    print("OK")
""")


def run_reporter(tmp_path, address, key: bytes):
    script = tmp_path / "reporter.py"
    script.write_text(REPORTER)
    return subprocess.run([sys.executable, str(script), address[0], str(address[1]), key.hex()],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(90)
def test_another_process_reports_to_a_panel_by_address(tmp_path):
    with pb.Panel(title="Remote jobs", display=None) as panel:
        info = panel.connect_info()
        assert info["address"][0] == "127.0.0.1" and len(info["authkey"]) == 32
        run = run_reporter(tmp_path, info["address"], info["authkey"])
        assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
        deadline = time.time() + 5
        while time.time() < deadline and panel.state.bars_finished < 2:
            time.sleep(0.05)
    lanes = {lane["desc"]: lane for lane in panel.snapshot()["lanes"]}
    assert lanes["loading rows"]["n"] == 40 and lanes["loading rows"]["total"] == 40
    assert lanes["loading rows"]["name"] == "etl-job" and lanes["loading rows"]["unit"] == "rows"
    assert lanes["uploading"]["n"] == 3
    assert any(lane["message"] == "all done" for lane in lanes.values())


@pytest.mark.timeout(90)
def test_a_wrong_authkey_is_refused_and_the_panel_is_untouched(tmp_path):
    with pb.Panel(display=None) as panel:
        address = panel.connect_info()["address"]
        before = panel.state.version
        with pytest.raises(PermissionError, match="refused this authkey"):
            pb.connect(address, b"not the key")
        run = run_reporter(tmp_path, address, b"x" * 32)
        assert run.returncode != 0 and "refused this authkey" in run.stderr
        time.sleep(0.3)
        assert panel.state.version == before and panel.snapshot()["lanes"] == []


def test_an_unreachable_panel_warns_once_and_the_job_goes_on():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remote = pb.connect(("127.0.0.1", 9), b"k" * 32)  # port 9: nothing listens
        total = sum(remote.track(range(100)))
        with remote.bar(5) as bar:
            bar.update(5)
    assert total == 4950
    assert len([w for w in caught if "no panel at" in str(w.message)]) == 1


def test_a_pool_reports_to_a_given_panel_and_stale_bars_turn_stalled():
    with pb.Panel(title="shared", display=None, stale_after=0.3) as panel:
        with pb.Pool(2, display=None, panel=panel) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]
        assert panel.snapshot()["overall"]["done"] == 2 and panel.snapshot()["status"] == "running"
        remote = pb.connect(**panel.connect_info())
        bar = remote.bar(10, desc="stuck")
        bar.update(1)
        remote.close()
        time.sleep(0.6)
        stuck = [lane for lane in panel.snapshot()["lanes"] if lane["desc"] == "stuck"]
        assert stuck and stuck[0]["stalled"] is True
