"""The suite's plain-text notation (``||g||``, ``chi2_ell``, ``P^perp``, ``5.3e-06``, claim ids) set once as
LaTeX (math where it is math) or as HTML (Unicode and sub/superscripts).

Every report string is plain text written for the terminal and Markdown; the LaTeX and HTML writers pass
it through `tex` or `html` here, which escape each character exactly once. A token of the notation is
recognised by one regular expression and rendered by one function per target, so a quantity has one
spelling in every format; adjacent math tokens are merged into one ``$...$`` group.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CLAIM_ID", "html", "tex", "tex_identifier"]

#: A claim id or a theory result's name: ``R3.chi_square_trained``, ``violation.deep``,
#: ``R7.exponent_ell_over_d``.
CLAIM_ID = r"(?:R\d[a-z]?|symbolic|scaling|real|violation|instruments|audit)\.[A-Za-z0-9_]+"

_GREEK_TEX = {"ell": r"\ell", "beta": r"\beta", "lam": r"\lambda", "eta": r"\eta", "alpha": r"\alpha"}
_GREEK_HTML = {"ell": "ℓ", "beta": "β", "lam": "λ", "eta": "η", "alpha": "α"}
_RELATIONS_TEX = {">=": r"\geq", "<=": r"\leq", "!=": r"\neq", "+-": r"\pm", "~": r"\sim", "<": "<", ">": ">"}
_RELATIONS_HTML = {">=": "≥", "<=": "≤", "!=": "≠", "+-": "±", "~": "∼", "<": "&lt;", ">": "&gt;"}
_SUPERSCRIPT_MINUS = "−"
# Symbols a string may already hold in Unicode: set as math in LaTeX (pdflatex knows none of them). Any
# other character outside ASCII and Latin-1 becomes "?" there, so an unforeseen one cannot stop the PDF.
_UNICODE_MATH = {
    "≤": r"\leq", "≥": r"\geq", "±": r"\pm", "×": r"\times", "‖": r"\Vert", "−": "-", "·": r"\cdot",
    "→": r"\to", "χ": r"\chi", "β": r"\beta", "ℓ": r"\ell", "λ": r"\lambda", "η": r"\eta", "α": r"\alpha",
    "⊥": r"\perp", "√": r"\surd", "Π": r"\Pi", "∞": r"\infty", "≈": r"\approx", "∈": r"\in",
}  # fmt: skip


@dataclass(frozen=True)
class _Token:
    pattern: re.Pattern[str]
    tex: Callable[[re.Match[str]], str]  # LaTeX math-mode body, or text when `text` is set
    html: Callable[[re.Match[str]], str]
    text: bool = False  # rendered in text mode (identifiers), not math


def _math_tex(inner: str) -> str:
    """A short expression inside math (the body of ||.||, an exponent, exp(.)): its tokens, math only."""
    return "".join(body for body, _ in _segments(inner, target="tex", math=True)).rstrip()


def _math_html(inner: str) -> str:
    return "".join(body for body, _ in _segments(inner, target="html", math=True))


def _identifier_tex(m: re.Match[str]) -> str:
    # In running text a long id may break after a dot or an underscore; tables keep ids whole.
    return (
        tex_identifier(m.group(0))
        .replace(".", r".\allowbreak{}")
        .replace(r"\char95{}", r"\char95\allowbreak{}")
    )


def _scientific_tex(m: re.Match[str]) -> str:
    mantissa, exponent = m.group(1), int(m.group(2))
    return rf"{mantissa}\times 10^{{{exponent}}}"


def _scientific_html(m: re.Match[str]) -> str:
    mantissa, exponent = m.group(1), int(m.group(2))
    power = f"{exponent}".replace("-", _SUPERSCRIPT_MINUS)
    return f"{mantissa}×10<sup>{power}</sup>"


def _t(pattern: str, tex, html, text: bool = False) -> _Token:
    return _Token(re.compile(pattern), tex, html, text)


_TOKENS: tuple[_Token, ...] = (
    _t(CLAIM_ID, _identifier_tex, lambda m: f"<code>{_html.escape(m.group(0))}</code>", text=True),
    _t(r"(?<=[\w)|])\^(-?\d+)\b", lambda m: f"^{{{m.group(1)}}}", lambda m: f"<sup>{m.group(1)}</sup>"),
    _t(
        r"\|\|([^|]{1,20})\|\|",
        lambda m: rf"\lVert {_math_tex(m.group(1))}\rVert ",
        lambda m: f"‖{_math_html(m.group(1))}‖",
    ),
    _t(
        r"chi2_(\{[^}]*\}|\w+)",
        lambda m: rf"\chi^2_{{{_math_tex(m.group(1).strip('{}'))}}}",
        lambda m: f"χ²<sub>{_math_html(m.group(1).strip('{}'))}</sub>",
    ),
    _t(
        r"\bexp\(([^()]*)\)",
        lambda m: rf"e^{{{_math_tex(m.group(1))}}}",
        lambda m: f"e<sup>{_math_html(m.group(1))}</sup>",
    ),
    _t(
        r"\bsqrt\(([^()]*)\)",
        lambda m: rf"\sqrt{{{_math_tex(m.group(1))}}}",
        lambda m: f"√({_math_html(m.group(1))})",
    ),
    _t(
        r"\^\(([^()]*)\)",
        lambda m: rf"^{{{_math_tex(m.group(1))}}}",
        lambda m: f"<sup>{_math_html(m.group(1))}</sup>",
    ),
    _t(r"\b([A-Za-z])\^perp\b", lambda m: rf"{m.group(1)}^\perp ", lambda m: f"{m.group(1)}<sup>⊥</sup>"),
    _t(r"\b([A-Za-z])_perp\b", lambda m: rf"{m.group(1)}_\perp ", lambda m: f"{m.group(1)}<sub>⊥</sub>"),
    _t(r"\bPi\b", lambda m: r"\Pi ", lambda m: "Π"),
    _t(
        r"\b(?:ell|beta|lam|eta|alpha)\b",
        lambda m: _GREEK_TEX[m.group(0)] + " ",
        lambda m: _GREEK_HTML[m.group(0)],
    ),
    _t(r"\bx0\b", lambda m: "x_0", lambda m: "x<sub>0</sub>"),
    _t(r"\bt\*", lambda m: "t^*", lambda m: "t*"),
    _t(
        r"\b([A-Za-z])_([A-Za-z0-9])\b(?:\^(\d))?",
        lambda m: f"{m.group(1)}_{m.group(2)}" + (f"^{m.group(3)}" if m.group(3) else ""),
        lambda m: f"{m.group(1)}<sub>{m.group(2)}</sub>" + (f"<sup>{m.group(3)}</sup>" if m.group(3) else ""),
    ),
    _t(
        r"(?<![\w.])(-?\d+(?:\.\d+)?)e([+-]?\d+)\b",
        _scientific_tex,
        _scientific_html,
    ),
    _t(
        r">=|<=|!=|\+-|~|<|>",
        lambda m: _RELATIONS_TEX[m.group(0)] + " ",
        lambda m: _RELATIONS_HTML[m.group(0)],
    ),
    _t(r"\|", lambda m: "|", lambda m: "|"),
)

# Characters of plain text that LaTeX reads as commands: each escaped once.
_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "^": r"\^{}",
    '"': "''",
}
# Inside math, a stray character of the same kind.
_TEX_MATH = {**_TEX_TEXT, "\\": r"\backslash ", "^": r"\hat{}", '"': "''", " ": r"\ "}


def _segments(text: str, *, target: str, math: bool) -> list[tuple[str, bool]]:
    """`text` as (rendered piece, is math) segments for `target` ("tex" or "html")."""
    out: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(text):
        for token in _TOKENS:
            m = token.pattern.match(text, pos)
            if m and m.end() > pos:
                body = token.tex(m) if target == "tex" else token.html(m)
                out.append((body, not token.text))
                pos = m.end()
                break
        else:
            ch = text[pos]
            if target == "html":
                out.append((_html.escape(ch, quote=False), False))
            elif ch in _UNICODE_MATH:
                out.append((_UNICODE_MATH[ch] + " ", True))
            elif ord(ch) > 0xFF:
                out.append(("?", math))
            elif math:
                out.append((_TEX_MATH.get(ch, ch), True))
            elif ch == '"' and (pos == 0 or text[pos - 1] in " ([\t\n"):
                out.append(("``", False))  # an opening quote (TeX sets a straight one as closing)
            else:
                out.append((_TEX_TEXT.get(ch, ch), False))
            pos += 1
    return out


def tex(text: object) -> str:
    """Plain report text as LaTeX: special characters escaped once, the notation set as math."""
    pieces: list[str] = []
    group: list[str] = []
    for body, is_math in _segments(str(text), target="tex", math=False):
        if is_math:
            group.append(body)
            continue
        if group:
            pieces.append("$" + "".join(group).rstrip() + "$")
            group = []
        pieces.append(body)
    if group:
        pieces.append("$" + "".join(group).rstrip() + "$")
    return "".join(pieces)


def tex_identifier(name: str) -> str:
    r"""A claim id in typewriter type, its underscores the font's own glyph (so `pdftotext` reads the id
    exactly; OT1's ``\_`` is a drawn rule) and line breaks allowed after none of its characters."""
    return r"\texttt{" + name.replace("_", r"\char95{}") + "}"


def html(text: object) -> str:
    """Plain report text as HTML: escaped once, the notation in Unicode with sub- and superscripts."""
    return "".join(body for body, _ in _segments(str(text), target="html", math=False))
