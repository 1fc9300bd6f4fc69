package script

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"/bin/true", []string{"/bin/true"}},
		{"  /bin/chk   a\tb  ", []string{"/bin/chk", "a", "b"}},
		{`/bin/chk "a b" 'c d'`, []string{"/bin/chk", "a b", "c d"}},
		// Quotes open and close inside a word.
		{`a"b c"d`, []string{"ab cd"}},
		{`x'y'"z"`, []string{"xyz"}},
		// The other quote is literal inside a quote.
		{`"it's" 'say "hi"'`, []string{"it's", `say "hi"`}},
		// Empty quoted words are words.
		{`cmd "" ''`, []string{"cmd", "", ""}},
		// Backslash escapes, also inside single quotes (unlike a shell).
		{`a\ b`, []string{"a b"}},
		{`'a\'b'`, []string{"a'b"}},
		{`"a\"b"`, []string{`a"b`}},
		{`a\\b`, []string{`a\b`}},
		{`\t\n\r\a\b\f\v\E`, []string{"\t\n\r\a\b\f\v\x1b"}},
		{`\x41\x4a\x4B`, []string{"AJK"}},
		{`\x414`, []string{"\x14"}}, // all hex digits are consumed, low 8 bits kept
		{`\101\60\7`, []string{"A0\a"}},
		{`\1011`, []string{"A1"}}, // at most three octal digits
		{`\cA\c[`, []string{"\x01\x1b"}},
		{`\q\%`, []string{"q%"}},
		{`\xg`, []string{"xg"}}, // \x without a hex digit is a plain x
		// keepalived's second-level split of `script "/bin/sh -c 'echo a b'"`.
		{`/bin/sh -c 'echo a b'`, []string{"/bin/sh", "-c", "echo a b"}},
		{"a\fb\vc\rd\ne", []string{"a", "b", "c", "d", "e"}},
	} {
		got, err := Split(tc.in)
		if err != nil {
			t.Errorf("Split(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"abc`, `missing terminating "`},
		{`a 'b`, `missing terminating '`},
		{`abc\`, `trailing '\'`},
		{`a\0b`, `NUL byte`},
		{`\x00`, `NUL byte`},
		{"a\x00b", `NUL byte`}, // fuzz crasher: a raw NUL in the line
		{"", "empty command"},
		{"  \t ", "empty command"},
	} {
		_, err := Split(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Split(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestShellLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"</etc/passwd"}, "</etc/passwd"},
		{[]string{"< /etc/passwd", "x y"}, "< /etc/passwd 'x y'"},
		{[]string{"/bin/chk", "a"}, "'/bin/chk' 'a'"},
		{[]string{"x", "<y"}, "'x' '<y'"}, // only the first word may be a redirection
	} {
		if got := shellLine(tc.args); got != tc.want {
			t.Errorf("shellLine(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestParseRedirectTest(t *testing.T) {
	for _, tc := range []struct {
		line  string
		shell bool
	}{
		{"</etc/passwd", true},
		{"'< \t/etc/passwd'", true},
		{"< /etc/passwd", false}, // two words: "<" alone is not the form
		{"<relative", false},
		{"/bin/true", false},
		{">/tmp/x", false}, // keepalived only treats "</" specially
	} {
		c, err := Parse(tc.line)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.line, err)
		}
		if c.Shell != tc.shell {
			t.Errorf("Parse(%q).Shell = %v, want %v", tc.line, c.Shell, tc.shell)
		}
	}
}

func TestCommandString(t *testing.T) {
	c := Command{Args: []string{"/bin/chk", "a b", "", "c"}}
	if got, want := c.String(), `/bin/chk "a b" "" c`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a "b c" 'd'`, `\x41\101\cA`, `"unterminated`, `trailing\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := Split(s)
		if err != nil {
			return
		}
		if len(args) == 0 {
			t.Fatalf("Split(%q) returned no words and no error", s)
		}
		for _, a := range args {
			if strings.IndexByte(a, 0) >= 0 {
				t.Fatalf("Split(%q) made a word with a NUL: %q", s, a)
			}
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	for b.Loop() {
		if _, err := Split(`/usr/local/bin/check_backend --host "db 1" --port 5432 '\x41'`); err != nil {
			b.Fatal(err)
		}
	}
}
