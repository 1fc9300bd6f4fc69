package config

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// preprocess runs the preprocessor over files (in an in-memory FS) from
// main, and returns each line as "line: word|word" ("line: {" for braces)
// and the diagnostics.
func preprocess(t *testing.T, files map[string]string, main, configID string) ([]string, []string) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text), Mode: 0o644}
	}
	diag := &diagSink{}
	p := newPreproc(ioFS{fsys: fsys}, diag, configID, 1, 1000)
	if !p.openFile(main, 0, Pos{File: main}, true) {
		t.Fatalf("open %s: %v", main, diag.sorted())
	}
	p.run()
	var out []string
	for _, l := range p.out {
		prefix := fmt.Sprintf("%s:%d: ", l.pos.File, l.pos.Line)
		if l.pos.File == main {
			prefix = fmt.Sprintf("%d: ", l.pos.Line)
		}
		if l.brace != 0 {
			out = append(out, prefix+string(l.brace))
			continue
		}
		out = append(out, prefix+strings.Join(l.words, "|"))
	}
	var ds []string
	for _, d := range diag.sorted() {
		ds = append(ds, d.String())
	}
	return out, ds
}

func check(t *testing.T, gotLines, gotDiags, wantLines, wantDiags []string) {
	t.Helper()
	if diff := cmp.Diff(wantLines, gotLines, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDiags, gotDiags, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestPreprocBracesAndComments(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `! Configuration File for keepalived
global_defs {   # comment after a brace
   router_id LVS_DEVEL ! comment after a value
}
vrrp_instance VI_1
{
  virtual_ipaddress { 10.0.0.1/24 dev eth0 }
  notify_master "/bin/notify {master} # not a comment"
}
`}, "k.conf", "")
	check(t, lines, ds, []string{
		"2: global_defs", "2: {",
		"3: router_id|LVS_DEVEL",
		"4: }",
		"5: vrrp_instance|VI_1",
		"6: {",
		"7: virtual_ipaddress", "7: {", "7: 10.0.0.1/24|dev|eth0", "7: }",
		"8: notify_master|/bin/notify {master} # not a comment",
		"9: }",
	}, nil)
}

func TestPreprocConditionals(t *testing.T) {
	files := map[string]string{"k.conf": `@main router_id main_router
@backup router_id backup_router
@main
unicast_peer {
    @^main    1.2.3.4
    @^backup  1.2.3.5
    @^backup2 1.2.3.6
}
@main $PRIO=240
@backup $PRIO=200
priority $PRIO
$IF_MAIN=@main
$IF_MAIN advert_int 2
`}
	lines, ds := preprocess(t, files, "k.conf", "main")
	check(t, lines, ds, []string{
		"1: router_id|main_router",
		"4: unicast_peer", "4: {",
		"6: 1.2.3.5",
		"7: 1.2.3.6",
		"8: }",
		"11: priority|240",
		"13: advert_int|2",
	}, nil)

	lines, ds = preprocess(t, files, "k.conf", "backup")
	check(t, lines, ds, []string{
		"2: router_id|backup_router",
		"4: unicast_peer", "4: {",
		"5: 1.2.3.4",
		"7: 1.2.3.6",
		"8: }",
		"11: priority|200",
	}, nil)

	// No config id: @id lines never apply, @^id lines always do.
	lines, ds = preprocess(t, files, "k.conf", "")
	check(t, lines, ds, []string{
		"4: unicast_peer", "4: {",
		"5: 1.2.3.4", "6: 1.2.3.5", "7: 1.2.3.6",
		"8: }",
		"11: priority|$PRIO",
	}, nil)
}

func TestPreprocDefinitions(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
$ADDRESS_BASE_SUB=0
${ADDRESS_BASE}.100/32
$ADDRESS_BASE_SUB=10
${ADDRESS_BASE}.100/32
$EMPTY=
a $EMPTY b
$NOT =a definition
script "${UNDEF} $UNDEF $ 1$"
x ${_HASH}${_BANG} $_INSTANCE ${_INSTANCE}
v ${_RANDOM 5 5} ${_RANDOM 7 7}
w $NAMEx "$NAME,${NAME}y"
$NAME=n
w $NAMEx "$NAME,${NAME}y" $NAME
u ${X}
`}, "k.conf", "id1")
	check(t, lines, ds, []string{
		"3: 10.2.0.100/32",
		"5: 10.2.10.100/32",
		"7: a|b",
		"8: $NOT|=a|definition",
		"9: script|${UNDEF} $UNDEF $ 1$",
		"10: x|#!|id1|id1",
		"11: v|5|7",
		"12: w|$NAMEx|$NAME,${NAME}y",
		"14: w|$NAMEx|n,ny|n",
		// An undefined ${X} stays, and outside quotes its braces are
		// braces, as in keepalived.
		"15: u|$",
		"15: {",
		"15: X",
		"15: }",
	}, nil)
}

func TestPreprocPWD(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{
		"etc/k.conf":        "include conf.d/a.conf\nmain ${_PWD}\n",
		"etc/conf.d/a.conf": "inc ${_PWD}\n",
	}, "etc/k.conf", "")
	check(t, lines, ds, []string{"etc/conf.d/a.conf:1: inc|etc/conf.d", "2: main|etc"}, nil)
}

func TestPreprocMultilineDefinitions(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `$INSTANCE= \
vrrp_instance VI_${NUM} { \
    interface eth0.${NUM} \
    @high priority 130 \
    @low priority 120 \
    virtual_ipaddress { \
        10.0.${NUM}.254/24 \
    } \
}

$NUM=0
$INSTANCE
$NUM=1
$INSTANCE
`}, "k.conf", "low")
	check(t, lines, ds, []string{
		"12: vrrp_instance|VI_0", "12: {",
		"12: interface|eth0.0",
		"12: priority|120",
		"12: virtual_ipaddress", "12: {", "12: 10.0.0.254/24", "12: }",
		"12: }",
		"14: vrrp_instance|VI_1", "14: {",
		"14: interface|eth0.1",
		"14: priority|120",
		"14: virtual_ipaddress", "14: {", "14: 10.0.1.254/24", "14: }",
		"14: }",
	}, nil)
}

func TestPreprocNestedMultiline(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `$RS= \
real_server 192.168.${VS_NUM}.${RS_NUM} 80 { \
    weight 1 \
}
$VS= \
virtual_server 10.0.${VS_NUM}.4 80 { \
    $RS_NUM=1 \
    $RS \
    $RS_NUM=2 \
    $RS \
}
$VS_NUM=7
$VS
`}, "k.conf", "")
	check(t, lines, ds, []string{
		"13: virtual_server|10.0.7.4|80", "13: {",
		"13: real_server|192.168.7.1|80", "13: {", "13: weight|1", "13: }",
		"13: real_server|192.168.7.2|80", "13: {", "13: weight|1", "13: }",
		"13: }",
	}, nil)
}

func TestPreprocSequences(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1
~SEQx(S, 0x90, 0x10, 0xc0) ip fe80::20:${S}:1
~SEQ(N, 3) n $N
~SEQ(M, 2, 1) m $M
~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) a 192.${IP2}.${IP}.${IP1}
~LST(L, x, y) l $L
$BODY= \
v ${A}${B}
~SEQ(A,1,2) ~SEQ(B,1,2) $BODY
`}, "k.conf", "")
	check(t, lines, ds, []string{
		"1: ip_address|10.0.0.1", "1: ip_address|10.0.1.1", "1: ip_address|10.0.2.1", "1: ip_address|10.0.3.1",
		"2: ip|fe80::20:90:1", "2: ip|fe80::20:a0:1", "2: ip|fe80::20:b0:1", "2: ip|fe80::20:c0:1",
		"3: n|1", "3: n|2", "3: n|3",
		"4: m|2", "4: m|1",
		"5: a|192.168.10.1", "5: a|192.170.10.1", "5: a|192.168.20.4", "5: a|192.170.20.4",
		"6: l|x", "6: l|y",
		"9: v|11", "9: v|12", "9: v|21", "9: v|22",
	}, nil)
}

func TestPreprocSequenceErrors(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": `~SEQ(A, 1, -1, 5) x
~SEQ(B) x
~SEQx(C, -1, 3) x
~SEQ(D, 1, 100000) x
~SEQ(E, 1, 2
~SEQ(F, 1, 2)
~LST(G) x
`}, "k.conf", "")
	check(t, lines, ds, nil, []string{
		"k.conf:1: invalid ~SEQ: step -1 never goes from 1 to 5",
		"k.conf:2: invalid ~SEQ: want (var, [start, [step,]] end)",
		"k.conf:3: invalid ~SEQx: only valid for positive numbers",
		"k.conf:4: ~SEQ repeats more than 1000 times",
		"k.conf:5: invalid ~SEQ: missing ')'",
		"k.conf:6: warning: ~SEQ with nothing to repeat",
		"k.conf:7: invalid ~LST: want (var, value, ...)",
	})
}

func TestPreprocRunaway(t *testing.T) {
	// Self-referencing definitions, and expansions past MaxLines, stop
	// with an error instead of hanging.
	lines, ds := preprocess(t, map[string]string{"k.conf": "$A=$A\nx $A\n"}, "k.conf", "")
	check(t, lines, ds, nil, []string{"k.conf:2: parameter substitution does not terminate"})

	lines, ds = preprocess(t, map[string]string{"k.conf": "$A=" + strings.Repeat("x", 2000) + "$A\nx $A\n"}, "k.conf", "")
	check(t, lines, ds, nil, []string{"k.conf:2: parameter substitution makes the line longer than 65536 bytes"})

	lines, ds = preprocess(t, map[string]string{"k.conf": "$M= \\\n@nomatch x \\\n$M\n$M\n"}, "k.conf", "")
	check(t, lines, ds, nil, []string{"k.conf:4: definitions, ~SEQ and includes nested deeper than 1024"})

	_, ds = preprocess(t, map[string]string{"k.conf": "~SEQ(A,1,999) ~SEQ(B,1,999) x\n"}, "k.conf", "")
	check(t, nil, ds, nil, []string{"k.conf:1: configuration expands to more than 1000 lines; stopped reading"})

	// Repetitions that emit nothing are bounded too.
	_, ds = preprocess(t, map[string]string{"k.conf": "~SEQ(A,1,999) ~SEQ(B,1,999) $X=1\n"}, "k.conf", "")
	check(t, nil, ds, nil, []string{"k.conf:1: configuration expands to more than 2000 lines; stopped reading"})
}

func TestPreprocIncludes(t *testing.T) {
	files := map[string]string{
		"etc/keepalived.conf": `global_defs {
include conf.d/*.conf
}
include  {vrrp,lvs}.conf
include missing/*.conf
includea missing.conf
include "sub dir/x.conf"
`,
		"etc/conf.d/10-a.conf": "a 1\n",
		"etc/conf.d/20-b.conf": "b 2\ninclude ../deep/c.conf\n",
		"etc/deep/c.conf":      "c 3\n",
		"etc/vrrp.conf":        "vrrp 1\n",
		"etc/lvs.conf":         "lvs 1\n",
		"etc/sub dir/x.conf":   "x 1\n",
	}
	lines, ds := preprocess(t, files, "etc/keepalived.conf", "")
	check(t, lines, ds, []string{
		"1: global_defs", "1: {",
		"etc/conf.d/10-a.conf:1: a|1",
		"etc/conf.d/20-b.conf:1: b|2",
		"etc/deep/c.conf:1: c|3",
		"3: }",
		"etc/vrrp.conf:1: vrrp|1",
		"etc/lvs.conf:1: lvs|1",
		"etc/sub dir/x.conf:1: x|1",
	}, []string{
		"etc/keepalived.conf:5: warning: include missing/*.conf: no file matches",
		"etc/keepalived.conf:6: includea missing.conf: no file matches",
	})
}

func TestPreprocIncludeLoopAndDepth(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{
		"a.conf": "a 1\ninclude b.conf\n",
		"b.conf": "b 1\ninclude a.conf\n",
	}, "a.conf", "")
	check(t, lines, ds, []string{"1: a|1", "b.conf:1: b|1"}, []string{
		"b.conf:2: include loop: a.conf is already being read",
	})

	files := map[string]string{}
	for i := 0; i < 40; i++ {
		files[fmt.Sprintf("f%d.conf", i)] = fmt.Sprintf("include f%d.conf\n", i+1)
	}
	_, ds = preprocess(t, files, "f0.conf", "")
	check(t, nil, ds, nil, []string{"f31.conf:1: include f32.conf: includes nested deeper than 32"})
}

func TestPreprocIncludeChecks(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{
		"k.conf": `includer none/*.conf
includem none.conf
includem none*.conf
includew none*.conf
includeb {a,none}.conf
include_check match
include none.conf
include a.conf x
`,
		"a.conf": "a 1\n",
	}, "k.conf", "")
	check(t, lines, ds, []string{
		"a.conf:1: a|1",
		"6: include_check|match",
	}, []string{
		"k.conf:1: warning: includer none/*.conf: no file matches",
		"k.conf:2: includem none.conf: no file matches",
		"k.conf:3: warning: includem none*.conf: no file matches",
		"k.conf:4: includew none*.conf: no file matches",
		"k.conf:5: includeb {a,none}.conf: no file matches none.conf",
		"k.conf:7: include none.conf: no file matches",
		"k.conf:8: include takes one file name or pattern, not 2",
	})
}

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a.conf", []string{"a.conf"}},
		{"{a,b}.conf", []string{"a.conf", "b.conf"}},
		{"{foo/{,cat,dog},bar}", []string{"foo/", "foo/cat", "foo/dog", "bar"}},
		{"x{y}z", []string{"x{y}z"}},
		{"{a,b}{1,2}", []string{"a1", "a2", "b1", "b2"}},
		{"{a,b", []string{"{a,b"}},
	}
	for _, tt := range tests {
		got, ok := expandBraces(tt.in, 100)
		if diff := cmp.Diff(tt.want, got); diff != "" || !ok {
			t.Errorf("expandBraces(%q) ok=%v (-want +got):\n%s", tt.in, ok, diff)
		}
	}
	if _, ok := expandBraces("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", 100); ok {
		t.Error("expandBraces: 256 alternatives accepted with a limit of 100")
	}
}

func TestParseIncludeCheck(t *testing.T) {
	tests := []struct {
		cur  includeChecks
		opts []string
		want includeChecks
		ok   bool
	}{
		{0, nil, checkAll, true},
		{0, []string{"readable"}, checkReadable, true},
		{checkAll, []string{"match"}, checkMatch | checkReadable, true},
		{checkReadable, []string{"+match", "-readable"}, checkMatch, true},
		{checkAll, []string{"-wildcard_match"}, checkReadable | checkMatch | checkBraceMatch, true},
		{0, []string{"bogus"}, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseIncludeCheck(tt.cur, tt.opts)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseIncludeCheck(%b, %q) = %b, %v; want %b, %v", tt.cur, tt.opts, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUnterminatedQuote(t *testing.T) {
	lines, ds := preprocess(t, map[string]string{"k.conf": "notify \"abc\nx 1\n"}, "k.conf", "")
	check(t, lines, ds, []string{"1: notify|abc", "2: x|1"}, []string{`k.conf:1: unterminated quote in "notify \"abc"`})
}
