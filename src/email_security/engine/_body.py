"""A message's body as the engine reads it: its text for content policies, its http(s) URLs
for the link list.

The body text is the plain body, then a newline, then the text of the HTML (the newline
only when both are there and the HTML has text), cut to `limit` characters. The HTML is
parsed with lexbor (selectolax), the HTML5 parsing algorithm browsers use; its text is that
of its body's text nodes, with script and style elements left out, entities decoded, and a
newline before and after each block element (paragraphs, divisions, table cells, line
breaks, ...), so that the words of two blocks do not run together, but none at its very
start or end. Inline elements add nothing: `Pay<b>ment</b>` reads "Payment". Raw HTML
longer than HTML_PER_TEXT_CHARACTER times the limit is cut there before parsing: parsing
costs what the HTML weighs, and markup outweighs text several times over in HTML mail.

Links are the distinct http and https URLs, in order of first appearance, the first
MAX_LINKS: bare URLs in the plain body (within the limit), then the `href` of every `a` and
`area` element of the HTML.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser

__all__ = ["HTML_PER_TEXT_CHARACTER", "MAX_LINKS", "Body", "read_body"]

MAX_LINKS = 100
HTML_PER_TEXT_CHARACTER = 8

# Rendered as blocks (or line breaks): their text does not run into their neighbours'.
_BLOCKS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "legend", "li", "main", "nav", "ol", "option", "p",
    "pre", "section", "summary", "table", "td", "th", "tr", "ul",
)  # fmt: skip
_BLOCK_SELECTOR = ", ".join(_BLOCKS)
_UNSEEN = ["script", "style"]  # their content is never shown (templates are not in the body)

# A bare URL runs from its scheme to whitespace, a control character, `<`, `>` or `"`; not
# when the scheme is glued to a word before it (`xhttp://`). The scheme is found from the
# `://` after it: str.find is many times faster than a regex search with a look-behind.
_SCHEMES = {
    length: frozenset(map("".join, itertools.product(*({c, c.upper()} for c in scheme))))
    for length, scheme in ((4, "http"), (5, "https"))
}
_URL_TAIL = re.compile(r"[^\s<>\"\x00-\x1f\x7f]+")
# What a linkifier leaves off the end of a bare URL: sentence punctuation, and closing
# brackets the URL did not open.
_TRAILING = frozenset(".,;:!?'\"")
_OPENING = {")": "(", "]": "[", "}": "{"}
# The URL standard drops tabs and newlines anywhere in a URL, and strips control characters
# and spaces at its ends: a browser follows `ht\ntps://x` to https://x.
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


class Body(NamedTuple):
    text: str | None  # None when not asked for
    urls: list[str]
    truncated: bool  # the limit cut the body text


def read_body(plain: str | None, html: str | None, limit: int, with_text: bool) -> Body:
    """The body text (when `with_text`), the URLs, and whether the limit cut the text.

    Without `with_text` the HTML's text is still worked out when the limit might cut it,
    so that `truncated` never depends on whether anything reads the text.
    """
    plain = plain or ""
    truncated = len(plain) > limit
    if truncated:
        plain = plain[:limit]
    html = html or ""
    most_html = limit * HTML_PER_TEXT_CHARACTER
    if len(html) > most_html:
        html, truncated = html[:most_html], True
    document = LexborHTMLParser(html) if html else None
    urls = _bare_urls(plain) if "://" in plain else {}
    if document is not None and len(urls) < MAX_LINKS:
        _add_hrefs(document, urls)
    text = plain if with_text else None
    # The HTML's text is never longer than the HTML (each separator stands for a tag), so
    # when both fit in the limit together nothing can have been cut.
    if document is not None and (
        with_text or (not truncated and len(plain) + 1 + len(html) > limit)
    ):
        html_text = _text(document)
        if html_text:
            joined = f"{plain}\n{html_text[: limit + 1]}" if plain else html_text[: limit + 1]
            truncated = truncated or len(joined) > limit
            text = joined[:limit]
    return Body(text, list(urls), truncated)


def _bare_urls(text: str) -> dict[str, None]:
    urls: dict[str, None] = {}
    at = text.find("://")
    while at >= 0:
        start = _scheme_start(text, at)
        tail = _URL_TAIL.match(text, at + 3) if start >= 0 else None
        if tail is None or (start and _glued(text[start - 1])):
            at = text.find("://", at + 3)
            continue
        url = _trimmed(text[start : tail.end()])
        if len(url) > at + 3 - start:  # something after the `://`
            urls[url] = None
            if len(urls) == MAX_LINKS:
                break
        at = text.find("://", tail.end())
    return urls


def _scheme_start(text: str, at: int) -> int:
    """Where `http` or `https` (in any case) ends at `at`, or -1."""
    for length in (5, 4):
        start = at - length
        if start >= 0 and text[start:at] in _SCHEMES[length]:
            return start
    return -1


def _glued(char: str) -> bool:
    return char.isalnum() or char in "_+.-"


def _trimmed(url: str) -> str:
    """The URL without the punctuation and unopened closing brackets at its end."""
    if url[-1] not in _TRAILING and url[-1] not in _OPENING:
        return url  # most URLs
    end = len(url)
    closing = {char: url.count(char) for char in _OPENING}
    opening = {char: url.count(opener) for char, opener in _OPENING.items()}
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in closing and closing[last] > opening[last]:
            closing[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


def _add_hrefs(document: LexborHTMLParser, urls: dict[str, None]) -> None:
    for node in document.css("a[href], area[href]"):  # in document order
        href = node.attrs.get("href")
        if not href:
            continue
        if "\t" in href or "\n" in href or "\r" in href:
            href = href.translate(_TAB_OR_NEWLINE)
        url = href.strip(_C0_OR_SPACE)
        # Browsers read `https:/x` and `https:\x` as https://x: listed, as written, too.
        scheme, colon, rest = url.partition(":")
        if colon and scheme.lower() in ("http", "https") and rest.strip("/\\"):
            urls[url] = None
            if len(urls) == MAX_LINKS:
                return


def _text(document: LexborHTMLParser) -> str:
    body = document.body
    if body is None:
        return ""
    document.strip_tags(_UNSEEN, recursive=True)
    for node in body.css(_BLOCK_SELECTOR):
        node.insert_before("\n")
        node.insert_after("\n")
    # The newlines of the first and last block separate nothing; a no-break space (&nbsp;)
    # reads as a space, which RE2's \s (ASCII only) would not match.
    return body.text().strip("\n").replace("\xa0", " ")
