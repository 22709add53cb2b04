"""The story sanitizer: known XSS payloads never survive, ordinary Markdown renders."""

from html.parser import HTMLParser

import pytest

from results.markdown import ALLOWED_TAGS, render_markdown

# Known cross-site scripting payloads, in raw HTML and in Markdown syntax. Each is
# rendered as a story body would be; the link texts are plain ("x") so that any
# dangerous word left in the output could only come from markup that survived.
XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<IMG SRC="jav&#x0A;ascript:alert(1);">',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="\tjavascript:alert(1)">x</a>',
    '<a href="\njavascript:alert(1)">x</a>',
    '<a href="   \t\n javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="https://example.org" onclick="alert(1)" onmouseover="alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<body onload=alert(1)>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=stylesheet href=javascript:alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<!-- <script>alert(1)</script> -->",
    '<table><tr><td style="text-align:right;background:url(javascript:alert(1))">x</td></tr>'
    "</table>",
    "```\n<script>alert(1)</script>\n```",
]
# Whatever a payload was, none of these may be left in the HTML (case-insensitive).
FORBIDDEN = [
    "<script",
    "<iframe",
    "<svg",
    "<style",
    "<img",
    "<math",
    "<object",
    "<embed",
    "<form",
    "<input",
    "<body",
    "<base",
    "<meta",
    "<link",
    "onerror",
    "onload",
    "onclick",
    "onmouseover",
    "onfocus",
    "ontoggle",
    "srcdoc",
    "javascript:",
    "vbscript:",
    "data:text",
    'style="background',
]
SAFE_SCHEMES = ("http://", "https://", "mailto:")


class _Markup(HTMLParser):
    """Collects every element and attribute of a piece of HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_allow_listed(html: str) -> None:
    """Only allow-listed tags and attributes; links only to safe or relative URLs."""
    parser = _Markup()
    parser.feed(html)
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, html
        if tag == "a":
            assert set(attrs) <= {"href", "title", "rel"}, html
            assert attrs["rel"] == "noopener noreferrer nofollow", html
            href = (attrs.get("href") or "").strip().lower()
            assert not href or href.startswith(SAFE_SCHEMES) or ":" not in href, html
        elif tag in ("th", "td"):
            assert set(attrs) <= {"style"}, html
            assert attrs.get("style", "text-align:left").startswith("text-align:"), html
        else:
            assert attrs == {}, html


def assert_harmless(html: str) -> None:
    lowered = html.lower()
    for marker in FORBIDDEN:
        assert marker not in lowered, f"{marker!r} survived in {html!r}"
    assert_allow_listed(html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_xss_payload_survives_rendering(payload):
    assert_harmless(render_markdown(payload))


def test_all_payloads_in_one_story_are_removed_and_the_prose_kept():
    html = render_markdown("\n\n".join(["Before.", *XSS_PAYLOADS, "After."]))
    assert_harmless(html)
    assert "Before." in html and "After." in html


def test_a_dangerous_url_written_as_text_stays_inert_text():
    """Prose may mention "javascript:" (or be an autolink to it): it is shown as text and
    no element carries it."""
    html = render_markdown("Never follow <javascript:alert(1)> links.")
    parser = _Markup()
    parser.feed(html)
    assert all("javascript" not in str(attrs).lower() for _, attrs in parser.elements)
    assert "javascript:alert(1)" in html
    assert_allow_listed(html)


def test_html_written_as_code_is_shown_escaped():
    html = render_markdown("Do not write `<svg onload=alert(1)>` in a page.")
    assert "<code>&lt;svg onload=alert(1)&gt;</code>" in html
    assert "<svg" not in html.lower()
    assert_allow_listed(html)


def test_ordinary_markdown_renders():
    html = render_markdown(
        "# Results\n\n"
        "## What changed\n\n"
        'Officials *learned* from **peers**, see [the report](https://example.org/r "R"),'
        " [the page](/grants/1/) and <mailto:team@example.org>.\n\n"
        "- first\n- second\n\n"
        "1. one\n2. two\n\n"
        "> A quote.\n\n"
        "`code` and\n\n```\nblock\n```\n\n"
        "| Country | Participants |\n|:--|--:|\n| HND | 24 |\n\n"
        "~~struck~~\n\n###### Deep heading\n"
    )
    assert "<h2>Results</h2>" in html
    assert "<h2>What changed</h2>" in html
    assert "<h4>Deep heading</h4>" in html
    assert "<em>learned</em>" in html and "<strong>peers</strong>" in html
    assert (
        '<a href="https://example.org/r" title="R" rel="noopener noreferrer nofollow">'
        "the report</a>" in html
    )
    assert '<a href="/grants/1/" rel="noopener noreferrer nofollow">the page</a>' in html
    assert 'href="mailto:team@example.org"' in html
    assert "<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in html
    assert "<ol>\n<li>one</li>\n<li>two</li>\n</ol>" in html
    assert "<blockquote>\n<p>A quote.</p>\n</blockquote>" in html
    assert "<code>code</code>" in html and "<pre><code>block\n</code></pre>" in html
    assert '<th style="text-align:left">Country</th>' in html
    assert '<td style="text-align:right">24</td>' in html
    assert "<s>struck</s>" in html
    assert_allow_listed(html)


def test_images_are_not_embedded_but_linked():
    html = render_markdown("![a chart](https://example.org/chart.png)")
    assert "<img" not in html
    assert '<a href="https://example.org/chart.png"' in html and "a chart</a>" in html


def test_harmless_inline_html_is_kept():
    html = render_markdown("Some <strong>bold</strong> and <em>slanted</em> words.")
    assert html == "<p>Some <strong>bold</strong> and <em>slanted</em> words.</p>\n"


def test_an_empty_body_renders_to_nothing():
    assert render_markdown("") == ""
