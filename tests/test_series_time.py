"""Hourly series on a real clock: UTC offsets and time-zone names placed on UTC hours, and
daylight-saving gaps and repeats of wall-clock files handled (interpolated, averaged, said once)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sim.errors import ConfigError
from sim.inputs.series import typical_year

CHICAGO = ZoneInfo("America/Chicago")


def year_of_local_hours(tz=CHICAGO, year=2026):
    """Every UTC hour of the year as the local wall-clock time it is in `tz`, with its offset."""
    t = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
    out = []
    while t.year == year:
        out.append(t.astimezone(tz))
        t += dt.timedelta(hours=1)
    return out


def utc_hour_of_year(local: dt.datetime) -> int:
    u = local.astimezone(dt.timezone.utc)
    return (u.timetuple().tm_yday - 1) * 24 + u.hour


def test_timestamps_with_offsets_land_on_their_utc_hours(tmp_path):
    path = tmp_path / "price.csv"
    hours = year_of_local_hours()
    path.write_text("timestamp,price\n" + "".join(f"{h.isoformat()},{utc_hour_of_year(h)}\n" for h in hours))
    values = typical_year(str(path), "price", "timestamp")
    np.testing.assert_array_equal(values, np.arange(8760, dtype=np.float64))   # each value at its own UTC hour


def test_wall_clock_times_with_a_timezone_name_land_on_their_utc_hours(tmp_path, capsys):
    path = tmp_path / "price.csv"
    hours = year_of_local_hours()
    # local wall-clock text: the fall-back hour appears twice, the spring-forward hour never
    path.write_text("timestamp,price\n" + "".join(f"{h.strftime('%Y-%m-%d %H:%M')},{utc_hour_of_year(h)}\n"
                                                  for h in hours))
    values = typical_year(str(path), "price", "timestamp", timezone="America/Chicago")
    np.testing.assert_array_equal(values, np.arange(8760, dtype=np.float64))
    assert "warning" not in capsys.readouterr().err


def test_a_wall_clock_file_without_a_zone_is_mended_and_says_so_once(tmp_path, capsys):
    path = tmp_path / "price.csv"
    hours = year_of_local_hours()
    path.write_text("timestamp,price\n" + "".join(f"{h.strftime('%Y-%m-%d %H:%M')},{h.hour * 10}\n" for h in hours))
    values = typical_year(str(path), "price", "timestamp")
    spring = (dt.date(2026, 3, 8).timetuple().tm_yday - 1) * 24 + 2     # 02:00 never happened in Chicago
    fall = (dt.date(2026, 11, 1).timetuple().tm_yday - 1) * 24 + 1      # 01:00 happened twice
    assert values[spring] == pytest.approx((10 + 30) / 2)               # interpolated between 01:00 and 03:00
    assert values[fall] == pytest.approx(10.0)                          # both 01:00s say 10: their mean
    typical_year(str(path), "price", "timestamp")                        # cached: not said again
    err = capsys.readouterr().err
    assert err.count("1 missing hours interpolated and 1 repeated hours averaged") == 1


def test_a_series_missing_a_day_is_still_an_error(tmp_path):
    path = tmp_path / "price.csv"
    hours = [h for h in year_of_local_hours(dt.timezone.utc) if h.month != 5 or h.day != 3]
    path.write_text("timestamp,price\n" + "".join(f"{h.strftime('%Y-%m-%d %H:%M')},1\n" for h in hours))
    with pytest.raises(ConfigError, match="24 of the 8760 hours"):
        typical_year(str(path), "price", "timestamp")


def test_an_unknown_time_zone_is_bad_input():
    from pydantic import ValidationError

    from sim.config.schema import HourlySeries
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        HourlySeries(path="p.csv", column="price", timezone="Mars/Olympus")
