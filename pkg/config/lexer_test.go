package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecomment(t *testing.T) {
	tests := []struct {
		in, want string
		cont     bool
		open     bool
	}{
		{"  priority 100  ", "priority 100", false, false},
		{"priority 100 # the priority", "priority 100", false, false},
		{"priority 100 ! the priority", "priority 100", false, false},
		{"! Configuration File for keepalived", "", false, false},
		{"#/ brd dev scope label", "", false, false},
		{`notify "/bin/x #1 !2" # comment`, `notify "/bin/x #1 !2"`, false, false},
		{`auth_pass ab\#cd\!`, "auth_pass ab#cd!", false, false},
		{`script "a\#b"`, `script "a\#b"`, false, false},
		{`path /a\b`, `path /a\b`, false, false},
		{`$X= \`, `$X=\`, true, false},
		{`  line two  \`, `line two\`, true, false},
		{`x "open # still open`, `x "open # still open`, false, true},
		{"abc#def", "abc", false, false},
		{"\t\t", "", false, false},
	}
	for _, tt := range tests {
		got, cont, open := decomment(tt.in)
		if got != tt.want || cont != tt.cont || open != tt.open {
			t.Errorf("decomment(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, cont, open, tt.want, tt.cont, tt.open)
		}
	}
}

func TestSplitBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"vrrp_instance VI_1 {", []string{"vrrp_instance VI_1", "{"}},
		{"{", []string{"{"}},
		{"}", []string{"}"}},
		{"real_server 1.2.3.4 80 { weight 1 }", []string{"real_server 1.2.3.4 80", "{", "weight 1", "}"}},
		{"}}", []string{"}", "}"}},
		{`notify "a { b }"`, []string{`notify "a { b }"`}},
		{"a{b}c", []string{"a", "{", "b", "}", "c"}},
		{"  ", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitBraces(tt.in), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("splitBraces(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"a b\tc", []string{"a", "b", "c"}, true},
		{`notify_master "/usr/local/bin/vrrp.sh  MASTER  VI_1"`, []string{"notify_master", "/usr/local/bin/vrrp.sh  MASTER  VI_1"}, true},
		{`helo_name "foo.bar.com"`, []string{"helo_name", "foo.bar.com"}, true},
		{`x ""`, []string{"x", ""}, true},
		{`abc"def ghi"`, []string{"abc", "def ghi"}, true},
		{`script 'a b'`, []string{"script", "'a", "b'"}, true},
		{`x "unterminated`, []string{"x", "unterminated"}, false},
	}
	for _, tt := range tests {
		got, ok := splitWords(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" || ok != tt.ok {
			t.Errorf("splitWords(%q) ok=%v (-want +got):\n%s", tt.in, ok, diff)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"/usr/local/bin/vrrp.sh  MASTER  VI_1", []string{"/usr/local/bin/vrrp.sh", "MASTER", "VI_1"}, true},
		{"/bin/check 'a b' c", []string{"/bin/check", "a b", "c"}, true},
		{`/bin/x "a 'b' c"`, []string{"/bin/x", "a 'b' c"}, true},
		{`a\ b`, []string{"a b"}, true},
		{`x \x41\101\n\t\E\cA\\`, []string{"x", "AA\n\t\x1b\x01\\"}, true},
		{`</dev/tcp/127.0.0.1/80`, []string{"</dev/tcp/127.0.0.1/80"}, true},
		{`x ''`, []string{"x", ""}, true},
		{`x 'open`, []string{"x", "open"}, false},
		{`x \`, []string{"x", ""}, false},
	}
	for _, tt := range tests {
		got, ok := splitCommand(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" || ok != tt.ok {
			t.Errorf("splitCommand(%q) ok=%v (-want +got):\n%s", tt.in, ok, diff)
		}
	}
}
