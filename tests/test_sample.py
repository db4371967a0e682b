"""`python -m v2a_jax.sample` end to end on a tiny generator trained for 2 steps: a 2.5 s video (longer than the
1.28 s training clips, so windows are crossfaded) gets binaural audio next to its untouched video stream; a folder
with bad files still writes the good one and exits non-zero with a summary; outputs are never overwritten
silently; videos shorter than a quarter of a window are refused; unwritable outputs and unloadable runs are one
line each (v2a_jax.cli's endings: exit status 2, no traceback)."""

import av
import numpy as np
import pytest
import soundfile
from absl import flags

from tests.video import helpers
from v2a_jax import cli, sample
from v2a_jax.video import io

NUM_FRAMES = 62  # 2.5 s at 25 fps (rounded down to whole frames): three 1.28 s windows
FAST = ["--num_steps=2"]


pytestmark = pytest.mark.xdist_group("generator_run")


def _main(*args: str) -> int:
    """The exit status of `python -m v2a_jax.sample ARGS`, run in this process with cli.guard's endings; its flags
    are parsed into a FlagValues of their own (evaluate's flags of the same names are defined in this process)."""
    fv = sample.define_flags(flags.FlagValues())
    return cli.guard(lambda argv: sample.main(argv, fv))(fv(["sample", *args]))


@pytest.fixture(scope="module")
def workdir(tiny_generator_run):
    return tiny_generator_run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with a good video (carrying its own silent audio track), four bad files, and a copy of the good
    video whose output name clashes with it."""
    folder = tmp_path_factory.mktemp("videos")
    helpers.write_video(folder / "good.mp4", helpers.moving_square_frames(NUM_FRAMES, 64), 25, audio_rate=44100)
    (folder / "good.mkv").write_bytes((folder / "good.mp4").read_bytes())  # also out/good.mp4: reported, not lost
    (folder / "notes.mp4").write_text("this is a text file renamed .mp4\n" * 20)
    (folder / "empty.mp4").write_bytes(b"")
    helpers.write_video(folder / "no_frames.avi", np.zeros((0, 64, 64, 3), np.uint8), 25)
    (folder / "truncated.mp4").write_bytes((folder / "good.mp4").read_bytes()[:2000])
    return folder


def test_single_video_gets_binaural_audio_with_its_video_untouched(workdir, inputs, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    rc = _main(f"--workdir={workdir}", f"--video={inputs / 'good.mp4'}", f"--out={out}", "--wav", *FAST)
    assert rc == 0
    assert "s of audio per second" in capsys.readouterr().err
    np.testing.assert_array_equal(helpers.decoded_frames(out), helpers.decoded_frames(inputs / "good.mp4"))
    samples, rate, streams = helpers.audio_track(out)
    expected = NUM_FRAMES * 640  # the video's duration at 16 kHz
    assert streams == 1 and rate == 16000 and samples.shape[0] == 2
    assert abs(samples.shape[1] - expected) <= io.AAC_FRAME
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.streams.audio[0].layout.name == "stereo"
    wav, wav_rate = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert wav_rate == 16000 and wav.shape == (expected, 2)
    left, right = wav.T
    assert np.std(left) > 1e-3 and np.std(right) > 1e-3  # the fake codec decodes random latents to noise
    assert np.abs(left - right).mean() > 0.1 * np.abs(left).mean()  # the ears differ
    # The AAC track carries the same audio as the WAV.
    assert np.corrcoef(samples[0, :expected], left)[0, 1] > 0.9


def test_folder_run_writes_the_good_file_and_summarises_the_bad_ones(workdir, inputs, tmp_path, capsys):
    out_dir = tmp_path / "out"
    rc = _main(
        f"--checkpoint={workdir}/checkpoints/2",
        f"--video_dir={inputs}",
        f"--out_dir={out_dir}",
        "--num_variants=2",
        *FAST,
    )
    captured = capsys.readouterr()
    assert rc == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["good_v0.mp4", "good_v1.mp4"]  # from good.mkv (first)
    summary = captured.err[captured.err.index("5 of 6 inputs failed:") :].splitlines()[1:]
    expected = {
        "notes.mp4": "not a readable video",
        "empty.mp4": "not a readable video",
        "no_frames.avi": "has no video frames",
        "truncated.mp4": "not a readable video",
        "good.mp4": f"its output {out_dir / 'good_v0.mp4'} is also the output of {inputs / 'good.mkv'}",
    }
    assert len(summary) == 5
    for line in summary:
        name = next(n for n in expected if f"/{n}:" in line)
        assert expected.pop(name) in line
    assert not expected
    a, _, _ = helpers.audio_track(out_dir / "good_v0.mp4")
    b, _, _ = helpers.audio_track(out_dir / "good_v1.mp4")
    assert np.abs(a - b).mean() > 1e-3  # two independent variants


def test_existing_outputs_are_kept_without_overwrite(workdir, inputs, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    args = [f"--workdir={workdir}", f"--video={inputs / 'good.mp4'}", f"--out={out}", *FAST]
    assert _main(*args) == 1
    assert f"{out}: exists (pass --overwrite to replace it)" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert _main(*args, "--overwrite") == 0
    assert soundfile.info(str(out)).frames == NUM_FRAMES * 640


def test_unwritable_output_folder_is_one_line(workdir, inputs, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    rc = _main(f"--workdir={workdir}", f"--video={inputs / 'good.mp4'}", f"--out={blocker / 'x.mp4'}", *FAST)
    assert rc == 1
    assert f"{blocker}: cannot create the output folder" in capsys.readouterr().err


def test_a_video_without_frames_or_too_short_is_its_own_problem(workdir, inputs, tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    helpers.write_video(folder / "a.avi", np.zeros((0, 64, 64, 3), np.uint8), 25)  # sorts before a.mp4
    (folder / "a.mp4").write_bytes((inputs / "good.mp4").read_bytes())
    helpers.write_video(folder / "short.mp4", helpers.moving_square_frames(1, 64), 25)
    rc = _main(f"--workdir={workdir}", f"--video_dir={folder}", f"--out_dir={tmp_path / 'out'}", *FAST)
    err = capsys.readouterr().err
    assert rc == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4"]  # the empty a.avi claimed no name
    assert f"error: {folder / 'a.avi'}: has no video frames" in err
    # 1 frame at 25 fps; the tiny run's window is 1.28 s, a quarter of it 0.32 s.
    assert f"error: {folder / 'short.mp4'}: 0.04 s long, shorter than the minimum 0.32 s (--min_duration_s" in err
    assert "2 of 3 inputs failed:" in err
    rc = _main(
        f"--workdir={workdir}",
        f"--video={folder / 'short.mp4'}",
        f"--out={tmp_path / 's.wav'}",
        "--min_duration_s=0",
        *FAST,
    )
    assert rc == 0 and soundfile.info(str(tmp_path / "s.wav")).frames == 640


def test_unloadable_run_is_one_line_and_exit_status_2(tmp_path, inputs, capsys):
    rc = _main(
        f"--checkpoint={tmp_path}/run/checkpoints/5", f"--video={inputs / 'good.mp4'}", f"--out={tmp_path / 'x.mp4'}"
    )
    assert rc == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path}/run: no such workdir"
    (tmp_path / "a_file").write_text("")
    rc = _main(f"--workdir={tmp_path / 'a_file'}", f"--video={inputs / 'good.mp4'}", f"--out={tmp_path / 'x.mp4'}")
    assert rc == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'a_file'}: is a file, not a workdir"
    assert not (tmp_path / "x.mp4").exists()
