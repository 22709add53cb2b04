"""Markdown to safe HTML for results stories: render with markdown-it, then sanitize.

Stories are public pages written by fund managers, so what they write is treated as
untrusted: the rendered HTML goes through nh3 (the ammonia sanitizer) with an
allow-list of tags, attributes and URL schemes. Whatever the Markdown renderer lets
through, only the allow-list below reaches a reader.

- Raw HTML in the Markdown is parsed (so ``<strong>`` works) and then sanitized:
  ``<script>`` and ``<style>`` are dropped with their content, other unknown tags are
  dropped and their text kept.
- Links keep ``href`` only for http, https, mailto and relative URLs, and every link
  gets ``rel="noopener noreferrer nofollow"``. The renderer accepts every link
  destination and leaves that decision to the sanitizer, in one place: a refused link
  keeps its text and loses its target (``[x](javascript:...)`` becomes a plain ``x``).
- No images (``![alt](url)`` renders as ``!`` and a link): a story cannot make a
  reader's browser fetch anything.
- Headings are kept within h2-h4: the page's own title is the h1.
"""

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr",
        "h2", "h3", "h4",
        "ul", "ol", "li",
        "strong", "em", "s", "del",
        "a",
        "blockquote", "code", "pre",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Table column alignment as markdown-it writes it; any other style is dropped.
ALIGNMENTS = {f"text-align:{side}" for side in ("left", "center", "right")}
ALLOWED_ATTRIBUTE_VALUES = {"th": {"style": ALIGNMENTS}, "td": {"style": ALIGNMENTS}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Dropped together with their content (the sanitizer keeps other refused tags' text).
DROPPED_WITH_CONTENT = frozenset({"script", "style"})

HEADING_LEVELS = ("h2", "h3", "h4")


def _clamp_headings(state) -> None:
    """`#` is an h2 and `#####` an h4: the page title is the only h1."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = HEADING_LEVELS[min(max(level, 2), 4) - 2]


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    # Every destination is turned into a link here; nh3's URL allow-list decides which
    # keep their href (see the module docstring).
    md.validateLink = lambda url: True
    md.core.ruler.push("seetf_clamp_headings", _clamp_headings)
    return md


_MARKDOWN = _renderer()


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in attrs.items()}
            for tag, attrs in ALLOWED_ATTRIBUTE_VALUES.items()
        },
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """The story's body as sanitized HTML."""
    return sanitize_html(_MARKDOWN.render(text or ""))
