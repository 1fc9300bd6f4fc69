package script

import (
	"errors"
	"fmt"
	"strings"
)

// whiteSpace separates words, as keepalived's WHITE_SPACE_STR.
const whiteSpace = " \t\f\n\r\v"

// Split breaks a script line into argv the way keepalived 2.2 does
// (lib/parser.c alloc_strvec_quoted_escaped), which is not the way a
// shell does:
//
//   - words are separated by blanks (space, tab, form feed, newline,
//     carriage return, vertical tab);
//   - "..." and '...' group blanks into a word and may start or end in
//     the middle of one (a"b c"d is the single word ab cd);
//   - a backslash escapes the next character everywhere, inside single
//     quotes too: \a \b \E \f \n \r \t \v, \cX (control-X), \xHH... (hex,
//     low 8 bits kept), \o, \oo, \ooo (octal) and any other character
//     stands for itself (\" \' \\ \ );
//   - a pair of quotes with nothing between makes an empty word.
//
// An unterminated quote or a trailing backslash is an error, as is a NUL
// byte produced by an escape (keepalived would silently cut the word
// there), or a raw NUL in the line. An empty or blank line is an error
// too: there is nothing to run.
//
// keepalived splits twice: its configuration parser first takes the word
// after "script" (or notify_master, ...), removing one level of quotes,
// and then splits that word with these rules. Split is the second step: it
// takes the command as the configuration holds it, e.g. `/bin/check "a b"`
// from `script "/bin/check \"a b\""`.
func Split(line string) ([]string, error) {
	if i := strings.IndexByte(line, 0); i >= 0 {
		return nil, fmt.Errorf("split %q: NUL byte at offset %d", line, i)
	}
	var (
		args  []string
		word  []byte
		quote byte
		i     int
	)
	for {
		// Skip to the next word.
		for i < len(line) && strings.IndexByte(whiteSpace, line[i]) >= 0 {
			i++
		}
		if i >= len(line) {
			break
		}
		word = word[:0]
	word:
		for i < len(line) {
			c := line[i]
			switch {
			case c == '\\':
				i++
				if i >= len(line) {
					return nil, fmt.Errorf("split %q: missing escaped character after trailing '\\'", line)
				}
				b, n := unescape(line[i:])
				if b == 0 {
					return nil, fmt.Errorf("split %q: escape at offset %d makes a NUL byte", line, i-1)
				}
				word = append(word, b)
				i += n
			case quote != 0 && c == quote:
				quote = 0
				i++
			case quote != 0:
				word = append(word, c)
				i++
			case c == '"' || c == '\'':
				quote = c
				i++
			case strings.IndexByte(whiteSpace, c) >= 0:
				break word
			default:
				word = append(word, c)
				i++
			}
		}
		if quote != 0 {
			return nil, fmt.Errorf("split %q: missing terminating %c", line, quote)
		}
		args = append(args, string(word))
	}
	if len(args) == 0 {
		return nil, errors.New("split: empty command")
	}
	return args, nil
}

// unescape decodes the escape sequence that starts s (the text after a
// backslash) and returns its byte and how many bytes of s it used.
func unescape(s string) (byte, int) {
	switch c := s[0]; {
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
	case c == 'a':
		return '\a', 1
	case c == 'b':
		return '\b', 1
	case c == 'E':
		return 0x1b, 1
	case c == 'f':
		return '\f', 1
	case c == 'n':
		return '\n', 1
	case c == 'r':
		return '\r', 1
	case c == 't':
		return '\t', 1
	case c == 'v':
		return '\v', 1
	default:
		return c, 1
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// shellLine is the string keepalived hands to system() for a script it
// runs through the shell (lib/notify.c cmd_str_r): every word in single
// quotes, except a first word starting with '<' or '>' (a redirection
// such as "</etc/some-file", which only tests that the file opens).
// Like keepalived it does not escape single quotes inside words.
func shellLine(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 && a != "" && (a[0] == '<' || a[0] == '>') {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(a)
		b.WriteByte('\'')
	}
	return b.String()
}

// isRedirectTest reports keepalived's special form of a script whose first
// word is "<" followed by optional blanks and an absolute path: it is not
// executed but handed to /bin/sh, which only opens the file
// (lib/notify.c check_script_secure returns SC_SYSTEM for it).
func isRedirectTest(arg0 string) bool {
	if len(arg0) < 2 || arg0[0] != '<' {
		return false
	}
	rest := strings.TrimLeft(arg0[1:], " \t")
	return strings.HasPrefix(rest, "/")
}
