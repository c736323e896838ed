"""A report as a list of blocks, rendered twice: Markdown (report.md, beside its PNGs)
and one self-contained HTML file (report.html, PNGs embedded), so the two never drift.

Inline text may use Markdown's **bold** and `code`; nothing else is interpreted.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}code{background:#f3f3f3;padding:0 .2em}
img{max-width:100%;border:1px solid #eee}figure{margin:1.5em 0}figcaption{color:#555;font-size:.9em}"""


class Document:
    def __init__(self, title: str):
        self.title = title
        self.blocks: list[tuple] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("h", level, text))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("ul", list(items)))

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", head, rows))

    def figure(self, file: str, caption: str) -> None:
        self.blocks.append(("img", file, caption))

    def markdown_lines(self, lines: list[str]) -> None:
        """Take simple Markdown lines (## headings, - bullets, paragraphs) as blocks."""
        items: list[str] = []
        for line in [*lines, ""]:
            if line.startswith("- "):
                items.append(line[2:])
                continue
            self.bullets(items)
            items = []
            if line.startswith("#"):
                hashes = len(line) - len(line.lstrip("#"))
                self.heading(line[hashes:].strip(), hashes)
            elif line.strip():
                self.para(line)

    # ---------------------------------------------------------------- renderers

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                out += ["#" * block[1] + " " + block[2], ""]
            elif kind == "p":
                out += [block[1], ""]
            elif kind == "ul":
                out += [f"- {item}" for item in block[1]] + [""]
            elif kind == "table":
                head, rows = block[1], block[2]
                out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                out += ["| " + " | ".join(r) + " |" for r in rows] + [""]
            elif kind == "img":
                out += [f"![{Path(block[1]).stem}]({block[1]})", "", block[2], ""]
        return "\n".join(out)

    def html(self, folder: Path) -> str:
        body = [f"<h1>{_inline(self.title)}</h1>"]
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                body.append(f"<h{block[1]}>{_inline(block[2])}</h{block[1]}>")
            elif kind == "p":
                body.append(f"<p>{_inline(block[1])}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block[1]) + "</ul>")
            elif kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in block[1])
                rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in block[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif kind == "img":
                data = base64.b64encode((folder / block[1]).read_bytes()).decode("ascii")
                body.append(f'<figure><img alt="{html.escape(Path(block[1]).stem)}" src="data:image/png;base64,{data}">'
                            f"<figcaption>{_inline(block[2])}</figcaption></figure>")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")


def _inline(text: str) -> str:
    out = html.escape(str(text), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
