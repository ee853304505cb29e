"""Kconfig expressions taken apart and written again, without kconfiglib.

Enough of kconfig's grammar for
:mod:`virtio_gpio.kconfig.kconfiglib_compat` to rewrite a line that
kconfiglib 14.1 cannot read: the tokens (a preprocessor macro ``$(...)``
is one operand), kconfig's precedence (comparison, ``!``, ``&&``, ``||``),
and a node compared with ``n`` spelled the way the kernel builds it.

A node is a tuple: ``("sym", name)``, ``("not", node)``,
``("and", left, right)``, ``("or", left, right)`` or
``("cmp", operator, left, right)``.
"""

import re

_TOKEN = re.compile(r"""\s*(?:(\#.*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|"""
                    r"""(&&|\|\||!=|<=|>=|[!()=<>])|([^\s!()=<>&|"'\#]+))""")
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_JOINERS = {"and": "&&", "or": "||"}


class ExpressionError(ValueError):
    """The text is not a Kconfig expression this parser can read."""


def tokens(text):
    """``(tokens, comment)``: the expression tokens of ``text`` and its
    trailing comment ("" when it has none)."""
    found, pos = [], 0
    while pos < len(text):
        macro = re.match(r"\s*\$\(", text[pos:])
        if macro:
            # A preprocessor macro is one operand: keep it whole, balanced.
            start, depth, pos = pos + macro.end() - 2, 0, pos + macro.end() - 1
            for pos in range(pos, len(text)):
                depth += {"(": 1, ")": -1}.get(text[pos], 0)
                if depth == 0:
                    break
            if depth:
                raise ExpressionError("unbalanced macro in %r" % text)
            pos += 1
            found.append(text[start:pos])
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if not text[pos:].strip():
                break
            raise ExpressionError("cannot tokenize %r" % text)
        pos = m.end()
        if m.group(1):
            return found, m.group(1)
        found.append(m.group(2) or m.group(3) or m.group(4))
    return found, ""


def parse(token_list):
    """The node of a whole token list, with kconfig's precedence."""
    def primary(pos):
        if token_list[pos] == "(":
            node, pos = disjunction(pos + 1)
            if pos >= len(token_list) or token_list[pos] != ")":
                raise ExpressionError("unbalanced '(' in %r"
                                      % " ".join(token_list))
            return node, pos + 1
        if token_list[pos] == "!":
            node, pos = primary(pos + 1)
            return ("not", node), pos
        left = token_list[pos]
        if pos + 1 < len(token_list) and token_list[pos + 1] in _COMPARISONS:
            return (("cmp", token_list[pos + 1], left, token_list[pos + 2]),
                    pos + 3)
        return ("sym", left), pos + 1

    def chain(operand, kind):
        """Operands joined by ``kind``'s operator, left-associative."""
        def parse_chain(pos):
            node, pos = operand(pos)
            while (pos < len(token_list)
                   and token_list[pos] == _JOINERS[kind]):
                right, pos = operand(pos + 1)
                node = (kind, node, right)
            return node, pos
        return parse_chain

    conjunction = chain(primary, "and")
    disjunction = chain(conjunction, "or")
    try:
        node, pos = disjunction(0)
    except IndexError:
        raise ExpressionError("incomplete expression %r"
                              % " ".join(token_list)) from None
    if pos != len(token_list):
        raise ExpressionError("cannot parse %r" % " ".join(token_list))
    return node


def equals_n(node, equal=True):
    """``node = n`` (or ``!=`` when not ``equal``) spelled the way the
    kernel's expr_trans_compare(node, E_EQUAL, &symbol_no) builds it."""
    kind = node[0]
    if kind == "sym":
        return "%s %s n" % (node[1], "=" if equal else "!=")
    if kind == "not":
        return equals_n(node[1], not equal)
    if kind in _JOINERS:
        # De Morgan: (A && B) = n is A = n || B = n.
        joined = "(%s %s %s)" % (equals_n(node[1]),
                                 _JOINERS["or" if kind == "and" else "and"],
                                 equals_n(node[2]))
        return joined if equal else "!" + joined
    comparison = "(%s %s %s)" % (node[2], node[1], node[3])
    return "!" + comparison if equal else comparison


def unparse(node):
    """Kconfig text of ``node``, every join in parentheses."""
    kind = node[0]
    if kind == "sym":
        return node[1]
    if kind == "not":
        return "!" + unparse(node[1])
    if kind in _JOINERS:
        return "(%s %s %s)" % (unparse(node[1]), _JOINERS[kind],
                               unparse(node[2]))
    return "%s %s %s" % (node[2], node[1], node[3])
