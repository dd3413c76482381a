"""A corpus of what phones, cameras and editors produce, generated with the ffmpeg CLI
(no third-party video in git), and ffprobe's view of each file.

Every clip with sound has a sync mark: one all-white frame and a 1 kHz beep starting
at the same source time, so a test can find both in the output and compare.  Sizes
and lengths are tiny except where the variant needs them (3840x2160, 240 fps).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import av

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
MARK_S = 1.0  # source time of the white frame and the beep's onset


@dataclass
class Variant:
    name: str
    path: Path
    display: tuple[int, int] | None = None  # expected display size (None: refused)
    error: str | None = None  # expected refusal (regex), None: accepted
    sync: bool = False  # has the white frame + beep
    notes: dict = field(default_factory=dict)


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, capture_output=True, timeout=120)


def ffprobe_video(path: Path) -> dict:
    """The first video stream as ffprobe sees it, with ``-count_frames`` (presented frames)."""
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=width,height,nb_frames,nb_read_frames,avg_frame_rate,r_frame_rate,duration,start_time,sample_aspect_ratio"
         ":stream_side_data=rotation", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return json.loads(out.stdout)["streams"][0]


def _source(path: Path, *, size: str, rate: str, seconds: float, audio: bool = True, vcodec=("-c:v", "libx264"),
            extra_v=(), extra=(), audio_codec=("-c:a", "aac"), rotate: int = 0) -> Path:
    """testsrc2 with a white frame at MARK_S and, optionally, a beep starting then;
    ``rotate`` stores a display matrix (remuxed, as a phone writes it beside the picture)."""
    mark_n = round(MARK_S * float(eval(rate)))  # noqa: S307 - a literal like "30" or "30000/1001"
    vf = f"drawbox=c=white:t=fill:enable='eq(n\\,{mark_n})'"
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i",
                 f"aevalsrc='0.6*sin(2*PI*1000*t)*between(t\\,{MARK_S}\\,{MARK_S + 0.1})':s=48000:d={seconds}"]
    out = path.with_name(f"unrotated-{path.name}") if rotate else path
    args += ["-vf", ",".join([vf, *extra_v]), *vcodec, *(audio_codec if audio else ()), *extra, str(out)]
    ffmpeg(*args)
    if rotate:
        ffmpeg("-i", str(out), "-map", "0", "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", str(path))
        out.unlink()
    return path


def _patch_elst(src: Path, dst: Path, keep: float) -> Path:
    """Copy with the first track's (the video's) edit durations scaled by ``keep``: 0
    makes the zero-length edit some editors write; 0.6 an editor's trim of the end
    done in the edit list alone, the packets left in the file."""
    data = bytearray(src.read_bytes())
    at = data.find(b"elst")
    assert at > 0, "the clip should carry an edit list"
    version = data[at + 4]
    count = int.from_bytes(data[at + 8:at + 12], "big")
    n = 8 if version == 1 else 4
    for k in range(count):
        off = at + 12 + k * (n * 2 + 4)
        duration = int.from_bytes(data[off:off + n], "big")
        data[off:off + n] = int(duration * keep).to_bytes(n, "big")
    dst.write_bytes(bytes(data))
    return dst


def _corrupt_packet(src: Path, dst: Path, presented_index: int, *, framing: bool = True) -> Path:
    """Damage one packet, everything else intact.  ``framing``: overwrite its NAL
    length so that it cannot be parsed (a bad sector, a broken transfer); otherwise
    scramble its slice data, which the decoder conceals (a bit error on the air)."""
    with av.open(str(src)) as c:
        s = c.streams.video[0]
        packets = sorted(((p.pts, p.pos, p.size) for p in c.demux(s) if p.size), key=lambda x: x[0])
    _, pos, size = packets[presented_index]
    data = bytearray(src.read_bytes())
    if framing:
        data[pos:pos + 4] = (size * 64).to_bytes(4, "big")
    else:
        data[pos + 8:pos + size] = bytes(b ^ 0x5A for b in data[pos + 8:pos + size])
    dst.write_bytes(bytes(data))
    return dst


def _cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def build(root: Path) -> dict[str, Variant]:
    """Write every variant under ``root``; return them by name."""
    root.mkdir(parents=True, exist_ok=True)
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-bf", "2", "-pix_fmt", "yuv420p")
    v: dict[str, Variant] = {}

    base = _source(root / "base.mp4", size="96x64", rate="30", seconds=2.4, vcodec=x264)
    # A trim without re-encoding: starts between keyframes, so an edit list hides the pre-roll.
    trimmed = root / "trimmed.mp4"
    ffmpeg("-ss", "0.7", "-i", str(base), "-t", "1.2", "-c", "copy", str(trimmed))
    v["trimmed"] = Variant("trimmed", trimmed, (96, 64), sync=True)
    trimmed_mov = root / "trimmed.mov"
    ffmpeg("-ss", "0.55", "-i", str(base), "-t", "1.3", "-c", "copy", str(trimmed_mov))
    v["trimmed_mov"] = Variant("trimmed_mov", trimmed_mov, (96, 64), sync=True)
    v["zero_length_edit"] = Variant("zero_length_edit", _patch_elst(trimmed, root / "zero_edit.mp4", 0.0), (96, 64))

    # DV/HDV-like anamorphic: stored 132x144, pixels 4:3 wide, shown 176x144.
    v["anamorphic"] = Variant("anamorphic", _source(
        root / "anamorphic.mp4", size="132x144", rate="25", seconds=0.4, audio=False, vcodec=x264,
        extra_v=("setsar=4/3",)), (176, 144))
    # Variable frame rate: 30 fps for the first second, then every other frame (15 fps).
    v["vfr"] = Variant("vfr", _source(
        root / "vfr.mp4", size="96x64", rate="30", seconds=2.0, vcodec=(*x264, "-vsync", "vfr"),
        extra_v=("select='lt(t\\,1.05)+not(mod(n\\,2))'",)), (96, 64), sync=True)
    v["hevc10_rotated_mov"] = Variant("hevc10_rotated_mov", _source(
        root / "hevc10.mov", size="96x64", rate="30", seconds=0.5, audio=False,
        vcodec=("-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1",
                "-x265-params", "log-level=error"), rotate=90), (64, 96))
    v["fps60"] = Variant("fps60", _source(root / "fps60.mp4", size="96x64", rate="60", seconds=1.2, vcodec=x264),
                         (96, 64), sync=True)
    v["fps240"] = Variant("fps240", _source(root / "fps240.mp4", size="96x64", rate="240", seconds=1.1, vcodec=x264),
                          (96, 64), sync=True)
    # Two audio tracks (the second a commentary) and a QuickTime timecode track.
    two = root / "two_audio_tc.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30000/1001:duration=1.5",
           "-f", "lavfi", "-i", f"aevalsrc='0.6*sin(2*PI*1000*t)*between(t\\,{MARK_S}\\,{MARK_S + 0.1})':s=48000:d=1.5",
           "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100:duration=1.5",
           "-map", "0:v", "-map", "1:a", "-map", "2:a",
           "-vf", f"drawbox=c=white:t=fill:enable='eq(n\\,{round(MARK_S * 30000 / 1001)})'",
           *x264, "-c:a", "aac", "-timecode", "10:00:00;00", str(two))
    v["two_audio_tc"] = Variant("two_audio_tc", two, (96, 64), sync=True)
    # Sound that starts 0.3 s after the picture (its beep still at MARK_S), in Matroska.
    late = root / "late_audio.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30:duration=1.6", "-itsoffset", "0.3",
           "-f", "lavfi", "-i", f"aevalsrc='0.6*sin(2*PI*1000*t)*between(t\\,{MARK_S - 0.3}\\,{MARK_S - 0.2})':s=48000:d=1.3",
           "-vf", f"drawbox=c=white:t=fill:enable='eq(n\\,{round(MARK_S * 30)})'", *x264, "-c:a", "aac", str(late))
    v["late_audio_mkv"] = Variant("late_audio_mkv", late, (96, 64), sync=True)
    # An AVCHD-style MPEG transport stream: timestamps start at 1.4 s, not 0.
    v["mpegts"] = Variant("mpegts", _source(root / "camcorder.mts", size="96x64", rate="25", seconds=1.4, vcodec=x264,
                                            extra=("-f", "mpegts")), (96, 64), sync=True)
    # What cameras and editors write besides H.264 in MP4: ProRes with PCM in MOV (editors),
    # DNxHR in MXF (broadcast cameras, Avid), MJPEG in AVI (webcams, older cameras), PAL DV
    # (anamorphic, shown 768x576), MPEG-2 in a program stream (DVD camcorders), WMV with WMA
    # (whose decoder names no channel layout, which the AAC encoder once refused) and H.263 in 3GP.
    pcm = ("-c:a", "pcm_s16le")
    v["prores_mov"] = Variant("prores_mov", _source(root / "editor.mov", size="96x64", rate="25", seconds=1.4,
                                                    vcodec=("-c:v", "prores_ks", "-profile:v", "2"),
                                                    audio_codec=("-c:a", "pcm_s24le")), (96, 64), sync=True)
    v["dnxhr_mxf"] = Variant("dnxhr_mxf", _source(root / "camera.mxf", size="256x144", rate="25", seconds=1.4,
                                                  vcodec=("-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p",
                                                          "-threads", "1"), audio_codec=pcm), (256, 144), sync=True)
    v["mjpeg_avi"] = Variant("mjpeg_avi", _source(root / "webcam.avi", size="96x64", rate="30", seconds=1.4,
                                                  vcodec=("-c:v", "mjpeg", "-q:v", "3"), audio_codec=pcm), (96, 64), sync=True)
    v["dv_pal"] = Variant("dv_pal", _source(root / "camcorder.dv", size="720x576", rate="25", seconds=0.6, audio=False,
                                            vcodec=("-c:v", "dvvideo", "-pix_fmt", "yuv420p"), extra=("-f", "dv")),
                          (768, 576))
    v["mpeg2_ps"] = Variant("mpeg2_ps", _source(root / "dvd.mpg", size="96x64", rate="25", seconds=1.4,
                                                vcodec=("-c:v", "mpeg2video"), audio_codec=("-c:a", "mp2"),
                                                extra=("-f", "vob")), (96, 64), sync=True)
    v["wmv_wma"] = Variant("wmv_wma", _source(root / "editor.wmv", size="96x64", rate="25", seconds=1.4,
                                              vcodec=("-c:v", "wmv2"), audio_codec=("-c:a", "wmav2")), (96, 64), sync=True)
    v["h263_3gp"] = Variant("h263_3gp", _source(root / "phone.3gp", size="128x96", rate="25", seconds=1.4,
                                                vcodec=("-c:v", "h263"), audio_codec=("-c:a", "aac", "-ac", "1")),
                            (128, 96), sync=True)
    # A 1080i-style camcorder file: 50 fields a second woven into 25 interlaced frames.
    v["interlaced_mts"] = Variant("interlaced_mts", _source(
        root / "interlaced.mts", size="192x108", rate="50", seconds=1.2, audio=False,
        vcodec=(*x264, "-flags", "+ildct+ilme", "-x264opts", "tff=1"),
        extra_v=("tinterlace=interleave_top", "fieldorder=tff"), extra=("-f", "mpegts")), (192, 108))
    # A field recorder's 192 kHz sound, which AAC cannot code at that rate.
    v["pcm192k_mov"] = Variant("pcm192k_mov", _source(root / "recorder.mov", size="96x64", rate="25", seconds=1.4,
                                                      vcodec=x264, audio_codec=("-c:a", "pcm_s24le", "-ar", "192000")),
                               (96, 64), sync=True)
    # A poster picture as the first video stream, the recording second (as some editors and
    # downloads write): the recording is what is read, as ffmpeg picks it by default.
    poster, recording = root / "poster.png", _source(root / "recording.mkv", size="96x64", rate="25", seconds=1.4, vcodec=x264)
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=48x32", "-frames:v", "1", str(poster))
    ffmpeg("-i", str(poster), "-i", str(recording), "-map", "0", "-map", "1", "-c", "copy", str(root / "poster_first.mkv"))
    v["poster_first_mkv"] = Variant("poster_first_mkv", root / "poster_first.mkv", (96, 64), sync=True, notes={"stream": "v:1"})
    v["uhd"] = Variant("uhd", _source(root / "uhd.mp4", size="3840x2160", rate="30", seconds=0.1, audio=False,
                                      vcodec=x264), (3840, 2160))
    v["webm"] = Variant("webm", _source(
        root / "vp9.webm", size="96x64", rate="30", seconds=1.4,
        vcodec=("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"),
        audio_codec=("-c:a", "libopus")), (96, 64), sync=True)
    v["phone_rotated"] = Variant("phone_rotated", _source(
        root / "phone.mp4", size="96x64", rate="30", seconds=1.3, vcodec=x264, rotate=270), (64, 96), sync=True)
    v["odd_size"] = Variant("odd_size", _source(
        root / "odd.mp4", size="98x62", rate="30", seconds=0.3, audio=False, extra_v=("scale=97:61", "setsar=1"),
        vcodec=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p")), (97, 61))

    # Broken the way files really break.
    plain = _source(root / "plain.mp4", size="96x64", rate="30", seconds=2.0, vcodec=x264)
    faststart = root / "faststart.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-movflags", "+faststart", str(faststart))
    v["truncated_middle"] = Variant("truncated_middle", _cut(plain, root / "cut_middle.mp4", 0.5),
                                    error="not a video that can be read")
    mkv = root / "plain.mkv"
    ffmpeg("-i", str(plain), "-c", "copy", str(mkv))
    v["truncated_mkv"] = Variant("truncated_mkv", _cut(mkv, root / "cut_middle.mkv", 0.5), error="cut short: .* frame \\d+")
    v["header_promises_more"] = Variant("header_promises_more", _cut(faststart, root / "promises_more.mp4", 0.6),
                                        error="cut short: .* frame \\d+ .* of the 60")
    v["end_trimmed_by_edit"] = Variant("end_trimmed_by_edit", _patch_elst(plain, root / "end_trim.mp4", 0.6), (96, 64),
                                       sync=True)
    v["concealed_corruption"] = Variant("concealed_corruption",
                                        _corrupt_packet(plain, root / "concealed.mp4", 40, framing=False), (96, 64))
    v["corrupt_packet"] = Variant("corrupt_packet", _corrupt_packet(plain, root / "corrupt.mp4", 30),
                                  error="damaged near frame (30|31|32) ", notes={"frame": 30})
    return v
