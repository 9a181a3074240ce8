"""The expression language of one template line (Rhasspy 2.5 sentences.ini syntax) and its parser.

A line parses into a small tree: `Word`, `Seq` (group), `Alt` (alternatives; an optional is an `Alt`
with an empty branch), `RuleRef` and `SlotRef`. Every node may carry a substitution (`sub`: None = none,
() = drop, (w1, w2) = output words), converters and a `Tag`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TemplateError

SPECIAL = frozenset("()[]{}<>|")


@dataclass(slots=True)
class Tag:
    name: str
    sub: tuple[str, ...] | None = None
    converters: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Node:
    sub: tuple[str, ...] | None = field(default=None, kw_only=True)
    converters: list[str] = field(default_factory=list, kw_only=True)
    tag: Tag | None = field(default=None, kw_only=True)


@dataclass(slots=True)
class Word(Node):
    text: str = ""


@dataclass(slots=True)
class Seq(Node):
    items: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Alt(Node):
    items: list[Node] = field(default_factory=list)
    optional: bool = False


@dataclass(slots=True)
class RuleRef(Node):
    name: str = ""
    intent: str | None = None  # explicit <Intent.rule>; None = the intent the reference is in
    offset: int = 0  # character offset in the parsed text (for error messages)


@dataclass(slots=True)
class SlotRef(Node):
    key: str = ""  # name with arguments, e.g. "rhasspy/number,0,100,1"
    offset: int = 0  # character offset in the parsed text (for error messages)

    @property
    def name(self) -> str:
        return self.key.split(",", 1)[0]

    @property
    def args(self) -> list[str]:
        return self.key.split(",")[1:]


@dataclass(slots=True)
class Where:
    """Where a template line comes from, for error messages."""

    file: str | None = None
    line: int | None = None
    column: int = 1  # column of the first character of the parsed text in the file line
    text: str | None = None  # the whole file line


def parse_substitution(text: str) -> tuple[str, ...]:
    text = text.strip()
    if text[:1] == "(":
        text = text[1:]
    if text[-1:] == ")":
        text = text[:-1]
    return tuple(text.split())


def split_converters(text: str) -> tuple[str, list[str]]:
    """`a!b!c,1` -> ("a", ["b", "c,1"])."""
    if "!" not in text:
        return text, []
    head, *convs = text.split("!")
    return head, [c.strip() for c in convs if c.strip()]


# Groups nested deeper than this are refused: parsing and compiling recurse once per level, and no real
# sentence nests more than a handful ("(((((...)))))" from a careless or hostile file must not crash training).
MAX_NESTING = 100


class _Parser:
    def __init__(self, text: str, where: Where) -> None:
        self.text = text
        self.i = 0
        self.where = where
        self.depth = 0

    def error(self, message: str, index: int | None = None) -> TemplateError:
        idx = self.i if index is None else index
        line_text = self.where.text if self.where.text is not None else self.text
        return TemplateError(message, self.where.file, self.where.line, self.where.column + idx, line_text)

    def peek(self) -> str | None:
        return self.text[self.i] if self.i < len(self.text) else None

    def skip_spaces(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    # alternatives := sequence ('|' sequence)*
    def parse_alt(self, end: str | None, opened_at: int | None) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"groups nest deeper than {MAX_NESTING} levels", opened_at)
        branches: list[Node] = [self.parse_seq(end)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.parse_seq(end))
        self.depth -= 1
        if end is not None:
            if self.peek() != end:
                raise self.error(f"expected '{end}' to close the '{ {')': '(', ']': '[', '>': '<'}[end]}' "
                                 f"opened at column {self.where.column + (opened_at or 0)}")
            self.i += 1
        elif self.peek() is not None:  # pragma: no cover - parse_seq stops only at | or end
            raise self.error(f"unexpected '{self.peek()}'")
        if len(branches) == 1:
            return branches[0]
        return Alt(items=branches)

    def parse_seq(self, end: str | None) -> Seq:
        items: list[Node] = []
        while True:
            self.skip_spaces()
            c = self.peek()
            if c is None or c == "|" or c == end:
                break
            start = self.i
            if c in ")]>}":
                raise self.error(f"unexpected '{c}' (nothing to close here)")
            if c == "(":
                self.i += 1
                inner = self.parse_alt(")", start)
                items.append(self.parse_postfix(inner))
            elif c == "[":
                self.i += 1
                inner = self.parse_alt("]", start)
                if isinstance(inner, Alt) and _bare(inner):
                    branches = list(inner.items)
                else:
                    branches = [inner]
                branches.append(Seq())
                items.append(self.parse_postfix(Alt(items=branches, optional=True)))
            elif c == "<":
                close = self.text.find(">", self.i + 1)
                if close < 0:
                    raise self.error("expected '>' to close the rule reference '<'")
                name = self.text[self.i + 1:close].strip()
                if not name:
                    raise self.error("empty rule name in '<>'")
                self.i = close + 1
                if "." in name:
                    intent, rule = name.rsplit(".", 1)
                    items.append(RuleRef(name=rule, intent=intent, offset=start))
                else:
                    items.append(RuleRef(name=name, offset=start))
            elif c == "{":
                if not items:
                    raise self.error("a tag '{...}' must follow a word, group, rule or slot")
                close = self.text.find("}", self.i + 1)
                if close < 0:
                    raise self.error("expected '}' to close the tag '{'")
                tag = _parse_tag(self.text[self.i + 1:close])
                if not tag.name:
                    raise self.error("empty tag name in '{}'")
                self.i = close + 1
                last = items[-1]
                if last.tag is not None:  # a second tag wraps the first
                    last = Seq(items=[last])
                    items[-1] = last
                last.tag = tag
            else:
                items.append(self.parse_word())
        return Seq(items=items)

    def parse_postfix(self, item: Node) -> Node:
        """`:sub`, `:(multi words)`, `!conv`, `!(conv,arg with spaces)` directly after ) or ]."""
        c = self.peek()
        if c not in (":", "!"):
            return item
        self.i += 1
        if self.peek() == "(":
            close = self.text.find(")", self.i)
            if close < 0:
                raise self.error("expected ')' to close the substitution '('")
            body = self.text[self.i:close + 1]
            self.i = close + 1
            # a converter chain may follow the multi-word output: (a b):(c d)!upper
            while self.peek() == "!":
                start = self.i
                self.i += 1
                self.i = self._word_end()
                body += self.text[start:self.i]
        else:
            start = self.i
            self.i = self._word_end()
            body = self.text[start:self.i]
        if c == ":":
            sub_text, convs = split_converters(body)
            item.sub = parse_substitution(sub_text)
            item.converters = item.converters + convs
        else:
            text = body.strip()
            if text.startswith("(") and ")" in text:
                inner, rest = text[1:].split(")", 1)
                convs = [inner.strip()] + split_converters("x" + rest)[1]
            else:
                convs = split_converters("x!" + text)[1]
            item.converters = item.converters + convs
        return item

    def _word_end(self) -> int:
        i = self.i
        while i < len(self.text) and not self.text[i].isspace() and self.text[i] not in SPECIAL:
            i += 1
        return i

    def parse_word(self) -> Node:
        start = self.i
        buf: list[str] = []
        while self.i < len(self.text):
            c = self.text[self.i]
            if c == "(" and buf and buf[-1] == ":":
                close = self.text.find(")", self.i)
                if close < 0:
                    raise self.error("expected ')' to close the substitution ':('")
                buf.append(self.text[self.i:close + 1])
                self.i = close + 1
                continue
            if c.isspace() or c in SPECIAL:
                break
            buf.append(c)
            self.i += 1
        token = "".join(buf)
        if not token:  # pragma: no cover - callers only get here on a word character
            raise self.error("expected a word", start)
        node = word_token(token, lambda msg: self.error(msg, start))
        if isinstance(node, SlotRef):
            node.offset = start
        return node


def _bare(node: Node) -> bool:
    return node.sub is None and not node.converters and node.tag is None


def _parse_tag(text: str) -> Tag:
    head, convs = split_converters(text)
    sub: tuple[str, ...] | None = None
    if ":" in head:
        head, sub_text = head.split(":", 1)
        sub = parse_substitution(sub_text) or None
    return Tag(name=head.strip(), sub=sub, converters=convs)


def word_token(token: str, error=None) -> Node:
    """One whitespace-free token: a word (with `in:out` and `!conv`) or a `$slot` reference."""
    if token.startswith("$"):
        head, convs = split_converters(token[1:])
        sub = None
        if ":" in head:
            head, sub_text = head.split(":", 1)
            sub = parse_substitution(sub_text)
        if not head:
            if error:
                raise error("empty slot name after '$'")
            raise TemplateError("empty slot name after '$'")
        return SlotRef(key=head, sub=sub, converters=convs)
    head, convs = split_converters(token)
    sub = None
    if ":" in head:
        head, sub_text = head.split(":", 1)
        sub = parse_substitution(sub_text)
    return Word(text=head, sub=sub, converters=convs)


def parse_expression(text: str, where: Where | None = None) -> Node:
    """Parse one template (sentence, rule body or slot value line)."""
    parser = _Parser(text, where or Where())
    return parser.parse_alt(None, None)


def walk(node: Node):
    """Yield every node of the tree (pre-order)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (Seq, Alt)):
            stack.extend(reversed(n.items))
