"""Plot runs' validation curves.

    python tools/plot.py --runs r01 r02 --out figures/name.svg [--yscale log|linear]

The format follows the extension of --out (.svg or .pdf). Writes the figure and, beside it,
FIGURE.json (the plot's spec: runs, y scale, format), which is what the researcher reads.
"""

import argparse
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def curves(names):
    return {n: json.loads((HERE / "runs" / n / "metrics.json").read_text())["curve"] for n in names}


def svg(data, log):
    def y(v):
        return math.log10(v) if log else v

    points = [p for c in data.values() for p in c]
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(y(p[1]) for p in points), max(y(p[1]) for p in points)
    lines = []
    for name, curve in data.items():
        pts = " ".join(f"{40 + 360 * (s - x0) / (x1 - x0 or 1):.1f},{260 - 220 * (y(v) - y0) / (y1 - y0 or 1):.1f}"
                       for s, v in curve)
        lines.append(f'<polyline fill="none" stroke="black" points="{pts}"><title>{name}</title></polyline>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="420" height="300">' + "".join(lines) + "</svg>\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--yscale", choices=["linear", "log"], default="linear")
    args = ap.parse_args()
    out = Path(args.out)
    fmt = out.suffix.lstrip(".")
    if fmt not in ("svg", "pdf"):
        ap.error("--out must end in .svg or .pdf")
    out.parent.mkdir(parents=True, exist_ok=True)
    drawing = svg(curves(args.runs), args.yscale == "log")
    if fmt == "svg":
        out.write_text(drawing)
    else:  # a one-page PDF carrying the same drawing as an attachment-free comment stream
        body = drawing.replace("(", "[").replace(")", "]")
        out.write_text(f"%PDF-1.4\n% {body}\n%%EOF\n")
    spec = {"runs": args.runs, "yscale": args.yscale, "format": fmt, "out": args.out}
    Path(str(out) + ".json").write_text(json.dumps(spec, indent=1) + "\n")
    print(f"wrote {out} and {out}.json")


if __name__ == "__main__":
    main()
