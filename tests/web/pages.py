"""Reading rendered pages in tests: a small HTML tree (the standard library's parser, no
browser), found by `data-testid`, id or tag, and the text a person would read."""

import re
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


class Node:
    def __init__(self, tag: str, attrs: dict, parent=None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list = []

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list["Node"]:
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs) -> "Node | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def testid(self, value: str) -> "Node":
        node = self.find(data_testid=value)
        assert node is not None, f"no element with data-testid={value!r}"
        return node

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child.text if isinstance(child, Node) else child)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(response) -> Node:
    """The response's HTML as a tree."""
    builder = _TreeBuilder()
    builder.feed(response.content.decode())
    builder.close()
    return builder.root


def money(text: str):
    """A figure as the pages print it ("1,234.50") back to a Decimal."""
    from decimal import Decimal

    return Decimal(text.replace(",", "").replace("USD", "").strip())


def field_value(root: Node, name: str) -> str | None:
    """What a form field shows: an input's value, a textarea's text, a select's choice."""
    for node in root.iter():
        if node.attrs.get("name") != name:
            continue
        if node.tag == "input":
            return node.attrs.get("value")
        if node.tag == "textarea":
            return "".join(c for c in node.children if isinstance(c, str)).strip("\n")
        if node.tag == "select":
            chosen = [
                o.attrs.get("value") for o in node.find_all("option") if "selected" in o.attrs
            ]
            return chosen[0] if len(chosen) == 1 else ",".join(chosen) if chosen else None
    return None


def field_errors(root: Node, field_id: str) -> list[str]:
    """The messages shown next to a field (Django's `<ul id="id_x_error">`)."""
    errors = root.find(id=f"{field_id}_error")
    return [li.text for li in errors.find_all("li")] if errors else []


def form_data(root: Node, testid: str, **changes) -> dict:
    """What a browser would send for the form as the page shows it (text as typed,
    checked boxes, chosen options), with ``changes`` typed over it. A value of None
    removes the field; a list sets a multiple choice."""
    form = root.testid(testid)
    data: dict[str, list[str]] = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name or "disabled" in node.attrs:
            continue
        if node.tag == "input":
            kind = node.attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset"):
                continue
            if kind in ("checkbox", "radio"):
                if "checked" in node.attrs:
                    data.setdefault(name, []).append(node.attrs.get("value", "on"))
                continue
            data.setdefault(name, []).append(node.attrs.get("value", ""))
        elif node.tag == "textarea":
            text = "".join(c for c in node.children if isinstance(c, str))
            data.setdefault(name, []).append(text.removeprefix("\n"))
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = [o.attrs.get("value", o.text) for o in options if "selected" in o.attrs]
            if not chosen and "multiple" not in node.attrs and options:
                chosen = [options[0].attrs.get("value", options[0].text)]
            data.setdefault(name, []).extend(chosen)
    for name, value in changes.items():
        name = name.replace("__", "-")
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return {name: values if len(values) != 1 else values[0] for name, values in data.items()}
