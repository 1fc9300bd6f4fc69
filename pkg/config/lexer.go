package config

import (
	"strings"
)

// This file holds the line-level rules of keepalived's configuration
// language (keepalived lib/parser.c: decomment, alloc_strvec, read_line):
//
//   - '#' and '!' start a comment anywhere outside a double-quoted string;
//     "\#" and "\!" outside quotes are the literal characters.
//   - A line ending in '\' continues a multi-line $NAME definition.
//   - '{' and '}' outside double quotes always stand alone: "a { b }" is the
//     four lines "a", "{", "b", "}".
//   - Words are split on whitespace; a double-quoted string is one word with
//     its quotes removed (no escapes: those belong to script strings, see
//     splitCommand).

const whitespace = " \t\f\r\v\n"

// decomment removes a comment, the escaping of '#' and '!', and leading and
// trailing blanks. cont reports a trailing '\' (kept in the text). unquoted
// reports a double quote left open.
func decomment(s string) (out string, cont, unquoted bool) {
	if !strings.ContainsAny(s, "#!\"\\") {
		return strings.Trim(s, " \t"), false, false
	}
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	quote := false
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
			b.WriteByte(c)
			i++
		case c == '\\':
			if i+1 >= len(s) {
				cont = true
				i++
				continue
			}
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				b.WriteByte(s[i+1])
			} else {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i += 2
		case !quote && (c == '#' || c == '!'):
			i = len(s)
		default:
			b.WriteByte(c)
			i++
		}
	}
	out = strings.TrimRight(b.String(), " \t")
	if cont {
		out += `\`
	}
	return out, cont, quote
}

// splitBraces cuts a line at every '{' and '}' outside double quotes, so
// that each brace is a piece of its own. Pieces are trimmed; empty pieces
// are dropped.
func splitBraces(s string) []string {
	if !strings.ContainsAny(s, "{}") {
		if t := strings.Trim(s, " \t"); t != "" {
			return []string{t}
		}
		return nil
	}
	var out []string
	start := 0
	quote := false
	emit := func(piece string) {
		if t := strings.Trim(piece, " \t"); t != "" {
			out = append(out, t)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quote = !quote
		case '{', '}':
			if quote {
				continue
			}
			emit(s[start:i])
			out = append(out, s[i:i+1])
			start = i + 1
		}
	}
	emit(s[start:])
	return out
}

// splitWords splits a line into words as keepalived's alloc_strvec does:
// whitespace separates words, and a double-quoted string is one word
// without its quotes. ok is false when a quote is left open (the open
// string then runs to the end of the line).
func splitWords(s string) (words []string, ok bool) {
	ok = true
	i := 0
	for {
		for i < len(s) && strings.IndexByte(whitespace, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return words, ok
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				words = append(words, s[i+1:])
				return words, false
			}
			words = append(words, s[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && s[j] != '"' && strings.IndexByte(whitespace, s[j]) < 0 {
			j++
		}
		words = append(words, s[i:j])
		i = j
	}
}

// splitCommand splits a script command the way keepalived splits notify and
// check scripts into argv: whitespace separates arguments; single or double
// quotes group text (the quotes are removed, whitespace inside is kept);
// backslash escapes \a \b \E \f \n \r \t \v, \nnn (octal), \xXX (hex), \cC
// (control character) and \C (C itself) are decoded, inside or outside
// quotes. ok is false for an open quote or a trailing backslash.
func splitCommand(s string) (args []string, ok bool) {
	var cur []byte
	inWord := false
	var quote byte
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
			i++
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
			inWord = true
			i++
		case c == '\\':
			if i+1 >= len(s) {
				return append(args, string(cur)), false
			}
			ch, n := unescape(s[i+1:])
			cur = append(cur, ch)
			inWord = true
			i += 1 + n
		case quote == 0 && strings.IndexByte(whitespace, c) >= 0:
			if inWord {
				args = append(args, string(cur))
				cur = cur[:0]
				inWord = false
			}
			i++
		default:
			cur = append(cur, c)
			inWord = true
			i++
		}
	}
	if inWord {
		args = append(args, string(cur))
	}
	return args, quote == 0
}

// unescape decodes the escape sequence that s starts with (s follows a
// backslash) and returns the byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	hexVal := func(c byte) byte {
		switch {
		case c >= '0' && c <= '9':
			return c - '0'
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10
		default:
			return c - 'A' + 10
		}
	}
	c := s[0]
	switch {
	case c == 'x' && len(s) > 1 && isHex(s[1]):
		var v byte
		n := 1
		for n < len(s) && isHex(s[n]) {
			v = v<<4 | hexVal(s[n])
			n++
		}
		return v, n
	case c == 'c' && len(s) > 1:
		return s[1] & 0x1f, 2
	case c >= '0' && c <= '7':
		v := c - '0'
		n := 1
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v<<3 + (s[n] - '0')
			n++
		}
		return v, n
	}
	switch c {
	case 'a':
		return '\a', 1
	case 'b':
		return '\b', 1
	case 'E':
		return 0x1b, 1
	case 'f':
		return '\f', 1
	case 'n':
		return '\n', 1
	case 'r':
		return '\r', 1
	case 't':
		return '\t', 1
	case 'v':
		return '\v', 1
	}
	return c, 1
}
