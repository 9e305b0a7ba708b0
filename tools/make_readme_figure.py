"""README's first picture: one preview frame of a real run.

    python tools/make_readme_figure.py run --frame 140 --out docs/preview.png

`run` is the folder the README's set-up command writes (`openhoi generate --instruction "I'm
thirsty, grab the bottle and take a sip" --object bottle --out run`); the frame is drawn by
`openhoi.render.preview` exactly as in `preview.mp4` (1280×720: follow camera, table and
shadow, contact colours, side-view inset, caption and timeline), with the run's static
objects. tests/test_readme.py runs this command on a quick run of the same set-up.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run folder written by `openhoi generate --out RUN`")
    parser.add_argument("--frame", type=int, required=True, help="the frame to draw")
    parser.add_argument("--out", default="docs/preview.png", help="the PNG to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args(argv)

    from PIL import Image

    from openhoi import HOISequence
    from openhoi.objects import load_object
    from openhoi.render.preview import iter_frames
    from openhoi.viewer import check_run_folder

    run = check_run_folder(args.run)
    sequence = HOISequence.load(run / "sequence.npz")
    static = []
    if (run / "meshes.npz").is_file():
        # Objects standing beside the manipulated one, as the run wrote them.
        import numpy as np

        with np.load(run / "meshes.npz") as meshes:
            names = [str(n) for n in meshes["static_names"]] if "static_names" in meshes else []
            static = [(load_object(n), meshes[f"static_{i}_pose"]) for i, n in enumerate(names)]
    (image,) = iter_frames(
        sequence, static_objects=static, size=(args.width, args.height), frames=[args.frame]
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out, optimize=True)
    print(f"wrote {out} (frame {args.frame} of {sequence.num_frames - 1}, {args.run})")
    return out


if __name__ == "__main__":
    main()
