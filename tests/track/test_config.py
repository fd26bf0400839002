"""The tracker's TOML configuration: every component chosen by name, bad values named."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.errors import ConfigError
from skyfence.track.config import load_tracker_config


def _load(tmp_path, text: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "tracker.toml"
    p.write_text(text, "utf-8")
    return load_tracker_config(p)


def test_imm_is_configured_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from skyfence.config.sensors import SensorDeployment, SensorSpec
    from skyfence.track.tracker import Tracker

    cfg = _load(tmp_path, '[tracker]\nmotion = "imm"\nimm_models = ["cv", "ct", "ca"]\n'
                          'imm_q = [0.5, 2.0, 1.0]\nimm_stay_probability = 0.9\n')
    dep = SensorDeployment(sensor=[SensorSpec(id="r", kind="radar3d", lat_deg=54.6,
                                              lon_deg=25.6, alt_m=200.0)])
    tr = Tracker(dep, cfg)
    assert tr.imm is not None
    assert tr.imm.components == ("x", "y", "z", "vx", "vy", "vz", "w", "ax", "ay", "az")
    assert [m.q for m in tr.imm.models] == [0.5, 2.0, 1.0]
    assert np.allclose(np.diag(tr.imm.transition), 0.9)
    assert tr.tracks.xm.shape == (0, 3, 10)


@pytest.mark.parametrize(("text", "message"), [
    ('motion = "imm"\nfilter = "ukf"\n', "filter = 'ekf' with motion = 'imm'"),
    ('motion = "imm"\nimm_q = [1.0]\n', "imm_q with one value per model"),
    ('imm_models = ["cv", "zigzag"]\n',
     "key 'tracker.imm_models[1]': expected input should be 'cv', 'ca' or 'ct'; got 'zigzag'"),
    ('imm_stay_probability = 1.5\n', "imm_stay_probability"),
])
def test_bad_imm_settings_are_named(tmp_path, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "[tracker]\n" + text)
    assert "tracker.toml" in str(err.value)
    assert message in str(err.value)
